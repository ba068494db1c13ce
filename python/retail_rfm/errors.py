"""The one error type the loader raises for problems a user can fix."""


class LoadError(Exception):
    """The dataset could not be loaded.

    The message is meant for the person running the load: it names the file,
    the row when one is known, and what is wrong. The CLI prints it without a
    traceback.
    """


class ThriftServerError(Exception):
    """The local Spark Thrift server could not be started or stopped.

    The message says what happened and what to do (and, for a server that
    died while starting, quotes the end of its log); the CLI prints it
    without a traceback.
    """
