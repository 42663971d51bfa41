"""The ``kpi`` command (shared/spec/cli.md): a thin layer over the library, above ``metrics`` and ``reports``.

:mod:`kpi_cli.main` builds the parser and runs a command; each group of subcommands is one module, imported
by name in ``main`` (no discovery): :mod:`~kpi_cli.uploads` (ingest, uploads, restore, withdraw),
:mod:`~kpi_cli.checks` (key check, check), :mod:`~kpi_cli.series` (metrics), :mod:`~kpi_cli.review`
(review), :mod:`~kpi_cli.boardpack` (boardpack), :mod:`~kpi_cli.report`
(report) and :mod:`~kpi_cli.serve` (demo, serve). What they share
(the store from ``--db``, who the CLI records, exit codes) is :mod:`kpi_cli.common`.

Run it as ``kpi`` (the console script) or ``python -m kpi_cli``. Nothing in ``metrics``, ``reports`` or
``dashboard`` imports this package.
"""
