"""``python -m retail_rfm``: the same as the ``retail-rfm`` command."""

from retail_rfm.cli import main

raise SystemExit(main())
