"""``python -m metrics``: the same command line as the ``kpi`` console script (shared/spec/cli.md)."""

import sys

from kpi_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
