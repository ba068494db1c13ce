"""Run a compiled dbt Python model in this process, against a SparkSession.

Both submission methods run the model's Python here, in the dbt process: with
`method: session` the session is the one dbt-spark's SQL uses; with Spark
Connect it is a client whose DataFrame work runs on the server. Only the
Spark work is remote, never the Python.

dbt hands over one string: the model file as written, two blank lines, then
dbt's helpers (`dbtObj`, `ref`, `config`) and the code that calls `model()`
and writes the table (macros/python_model.sql). The two parts are compiled
under different names, so a traceback points into the model file at the line
the user wrote, and into "<model file> [dbt wrapper]" for the rest, numbered
as in the compiled file under target/run.
"""

from __future__ import annotations

import builtins
import linecache
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dbt.adapters.events.logging import AdapterLogger
from dbt_common.exceptions import DbtRuntimeError

logger = AdapterLogger("spark_oss")

WRAPPER_SUFFIX = " [dbt wrapper]"


class PythonModelError(DbtRuntimeError):
    """The model's code raised; the message carries its traceback."""


@dataclass(frozen=True)
class ModelSource:
    """The two parts of a compiled Python model, with the names they run under."""

    model_file: str
    model_code: str
    wrapper_file: str
    wrapper_code: str
    wrapper_first_line: int

    @classmethod
    def split(cls, compiled_code: str, parsed_model: Mapping[str, Any]) -> ModelSource:
        model_file = str(parsed_model.get("original_file_path") or "<python model>")
        raw_code = str(parsed_model.get("raw_code") or "")
        wrapper_file = model_file + WRAPPER_SUFFIX
        # dbt's macros put some indentation before the model's first line.
        start = compiled_code.find(raw_code) if raw_code.strip() else -1
        if start >= 0 and not compiled_code[:start].strip():
            wrapper_code = compiled_code[start + len(raw_code) :]
            # The wrapper starts on the last line of the model code; the run
            # file also holds the lines of that indentation.
            first_line = compiled_code[: start + len(raw_code)].count("\n") + 1
            return cls(model_file, raw_code, wrapper_file, wrapper_code, first_line)
        # Not dbt's usual layout: run it whole, named after the model.
        return cls(model_file, compiled_code.lstrip(), wrapper_file, "", 1)

    def compile(self) -> list[Any]:
        """Code objects to run in order; their sources go to linecache so
        tracebacks show the lines that ran, whatever is on disk now."""
        _remember_source(self.model_file, self.model_code)
        codes = [compile(self.model_code, self.model_file, "exec")]
        if self.wrapper_code:
            padded = "\n" * (self.wrapper_first_line - 1) + self.wrapper_code
            _remember_source(self.wrapper_file, padded)
            codes.append(compile(padded, self.wrapper_file, "exec"))
        return codes

    @property
    def files(self) -> tuple[str, str]:
        return self.model_file, self.wrapper_file


def _remember_source(filename: str, source: str) -> None:
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)


@dataclass
class ModelRun:
    """What one run of a Python model did: for dbt's adapter response."""

    model: str
    method: str
    seconds: float = 0.0
    printed: list[str] = field(default_factory=list)


class ModelPrinter:
    """`print` inside the model: each line goes to dbt's log (console and
    logs/dbt.log), prefixed with the model name.

    It is placed in the model's globals, so it affects the model's code only:
    nothing in the process is redirected, and other threads print as usual.
    A call with ``file=`` another stream prints there as usual.
    """

    def __init__(self, run: ModelRun) -> None:
        self.run = run

    def __call__(
        self,
        *values: object,
        sep: str | None = " ",
        end: str | None = "\n",
        file: Any = None,
        flush: bool = False,
    ) -> None:
        if file is not None:
            builtins.print(*values, sep=sep, end=end, file=file, flush=flush)
            return
        text = (" " if sep is None else sep).join(str(value) for value in values)
        for line in text.splitlines() or [""]:
            self.run.printed.append(line)
            logger.info(f"{self.run.model}: {line}")


def run_model_code(
    compiled_code: str,
    parsed_model: Mapping[str, Any],
    session: Any,
    method: str,
) -> ModelRun:
    """Execute the compiled model with `spark` bound to `session`.

    Raises PythonModelError with the model's traceback when its code raises.
    """
    name = str(parsed_model.get("alias") or parsed_model.get("name") or "model")
    run = ModelRun(model=name, method=method)
    source = ModelSource.split(compiled_code, parsed_model)
    try:
        codes = source.compile()
    except SyntaxError as exc:
        raise PythonModelError(model_traceback(exc, source.files)) from exc
    namespace: dict[str, Any] = {
        "__name__": f"dbt_python_model_{name}",
        "__builtins__": builtins,
        "spark": session,
        "print": ModelPrinter(run),
    }
    logger.debug(f"running Python model {name} ({method})")
    started = time.monotonic()
    try:
        for code in codes:
            exec(code, namespace)
    except Exception as exc:
        run.seconds = time.monotonic() - started
        logger.debug("".join(traceback.format_exception(exc)))
        raise PythonModelError(model_traceback(exc, source.files)) from exc
    run.seconds = time.monotonic() - started
    return run


def model_traceback(exc: BaseException, files: tuple[str, ...]) -> str:
    """The traceback of an exception raised by model code, frames of the
    model file and dbt's wrapper only; library frames are counted, not shown
    (dbt's debug log has the full traceback)."""
    frames = list(traceback.extract_tb(exc.__traceback__))
    # Drop the frames of this runner, above the first line of model code.
    while frames and frames[0].filename not in files:
        frames.pop(0)
    kept = traceback.StackSummary.from_list(
        [frame for frame in frames if frame.filename in files]
    )
    hidden = len(frames) - len(kept)
    lines = ["Traceback of the Python model (most recent call last):\n"]
    lines += kept.format()
    if hidden:
        lines.append(f"  ... {hidden} frame(s) in libraries not shown\n")
    lines += traceback.format_exception_only(exc)
    return "".join(lines).rstrip("\n")
