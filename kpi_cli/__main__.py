import sys

from kpi_cli.main import main

sys.exit(main())
