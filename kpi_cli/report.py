"""``kpi report --review YYYY-MM-DD --out FILE.docx [--public]`` (shared/spec/cli.md): the Commissioner's
report for a review as an editable Word document, a thin layer over :func:`reports.word.build_report`.

The reports package is imported inside the handler, so the CLI does not import it when it starts. Exit
status: 0 written (the path and the number of priorities go to stderr), 1 the report could not be made
(nothing written, no audit row), 2 usage error (bad date or extension).
"""

from __future__ import annotations

import sys

from kpi_cli.common import CLI_ROLE, EXIT_OK, EXIT_REFUSED, cli_actor, connect, review_and_out

REPORT_EXTENSION = ".docx"


def cmd_report(args) -> int:
    review, out = review_and_out(args, (REPORT_EXTENSION,), "the Commissioner's report is written as a Word "
                                 "document", name_chars=80)
    from reports.word import ReportError, build_report

    conn = connect(args)
    try:
        info = build_report(conn, review, out, public=args.public, by=cli_actor(), role=CLI_ROLE)
    except ReportError as e:
        print(f"kpi report: {e} Nothing was written.", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        conn.close()
    marking = "PUBLIC (small numbers suppressed)" if info.public else "RESTRICTED"
    print(f"wrote {info.path} — Word document, {info.priorities} priorities, {info.review_label}, {marking}, "
          f"in {info.seconds:.1f} s", file=sys.stderr)
    return EXIT_OK


def register(subparsers, common) -> None:
    s = subparsers.add_parser(
        "report", parents=[common], help="write the Commissioner's report for a review (Word)",
        description="Write the Commissioner's report for the review at a date as an editable Word document: "
                    "the checkpoint, the overall view, each priority's verdict in words with its evidence and "
                    "actions, the qualitative Terms of Reference items, data notes and definitions.")
    s.add_argument("--review", required=True, metavar="YYYY-MM-DD", help="the review (checkpoint) date")
    s.add_argument("--out", required=True, metavar="FILE", help="FILE.docx")
    s.add_argument("--public", action="store_true",
                   help="a publishable report: small numbers suppressed (shown as c), as in the public pack")
    s.set_defaults(func=cmd_report)
