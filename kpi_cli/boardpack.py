"""``kpi boardpack --review YYYY-MM-DD --out FILE.pdf|FILE.pptx [--public] [--no-teams]``
(shared/spec/cli.md): a thin layer over :func:`reports.boardpack.build_pack`.

The reports package (plotly, kaleido, reportlab, python-pptx) is imported inside the handler, so the
CLI does not import plotly when it starts. Exit status: 0 written (the path and page count
go to stderr), 1 the pack could not be made (nothing written), 2 usage error (bad date or extension).
"""

from __future__ import annotations

import sys

from kpi_cli.common import CLI_ROLE, EXIT_OK, EXIT_REFUSED, cli_actor, connect, review_and_out

PACK_EXTENSIONS = (".pdf", ".pptx")


def cmd_boardpack(args) -> int:
    review, out = review_and_out(args, PACK_EXTENSIONS, "the board pack is written as PDF or PowerPoint")
    from reports.boardpack import PackError, build_pack

    conn = connect(args)
    try:
        info = build_pack(conn, review, out, public=args.public, include_teams=not args.no_teams,
                          by=cli_actor(), role=CLI_ROLE)
    except (PackError, RuntimeError) as e:
        print(f"kpi boardpack: {e} Nothing was written.", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        conn.close()
    kind = "slides" if info.format == "pptx" else "pages"
    marking = "PUBLIC (small numbers suppressed)" if info.public else "RESTRICTED"
    print(f"wrote {info.path} — {info.pages} {kind}, {info.review_label}, {marking}, in {info.seconds:.1f} s",
          file=sys.stderr)
    return EXIT_OK


def register(subparsers, common) -> None:
    s = subparsers.add_parser(
        "boardpack", parents=[common], help="write the board pack for a review (PDF or PowerPoint)",
        description="Write the Improvement Board pack for the review at a date: cover, checkpoint summary, "
                    "one page per KPI, the evidence log, definitions and sources.")
    s.add_argument("--review", required=True, metavar="YYYY-MM-DD", help="the review (checkpoint) date")
    s.add_argument("--out", required=True, metavar="FILE", help="FILE.pdf (A4 landscape) or FILE.pptx (16:9)")
    s.add_argument("--public", action="store_true",
                   help="a publishable pack: small numbers suppressed (shown as c), no commentary authors")
    s.add_argument("--no-teams", action="store_true", help="leave out the team breakdowns")
    s.set_defaults(func=cmd_boardpack)
