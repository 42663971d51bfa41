"""``kpi ingest``, ``kpi uploads``, ``kpi restore``, ``kpi withdraw``: loading extracts and the upload history
(thin over :mod:`metrics.ingest` and :mod:`metrics.store`)."""

from __future__ import annotations

import json

from kpi_cli.common import (
    CLI_ROLE,
    EXIT_OK,
    EXIT_REFUSED,
    UsageError,
    cli_actor,
    connect,
    err,
    settings_for,
)


def cmd_ingest(args) -> int:
    from metrics.impact import restatement_guard
    from metrics.ingest import Batch, ingest_path_all
    from metrics.validate import parse_month, parse_months

    month = parse_month(args.month, "--month", upload=True) if args.month else None
    months = parse_months(args.months, upload=True) if args.months else None
    if month and months:
        raise UsageError("Give --month or --months, not both.")
    conn = connect(args)
    settings = settings_for(args)
    results = []
    batch = Batch()
    # a workbook gives one result per sheet-extract, each its own transaction ("file": "book.xlsx#Sheet1")
    for r in (r for f in args.files for r in ingest_path_all(
            conn, f, kind=args.kind, month=month, months=months, settings=settings, allow_empty=args.allow_empty,
            batch=batch, uploaded_by=cli_actor(), role=CLI_ROLE,
            guard=restatement_guard(args.reason, by=cli_actor(), role=CLI_ROLE))):
        batch.add(r)
        results.append(r)
        if r.status == "unchanged":  # identical to the current upload for its months: no upload created
            err(f"unchanged {r.file}: {r.kind} {', '.join(r.months)} — identical to upload {r.upload_id}, already "
                "current; nothing was stored")
        elif r.ok:
            replaced = "".join(f"; replaces upload {u['id']}" for u in r.replaces)
            err(f"accepted {r.file}: {r.kind} {', '.join(r.months)} — {r.rows} rows (upload {r.upload_id}{replaced})"
                f"; source: {r.source}")
            for w in r.warnings:
                err(f"  warning: {w}")
        else:
            err(f"refused {r.file}: {len(r.errors)} error(s); nothing was stored")
            for e in r.errors[: (None if args.json else 50)]:
                where = " ".join(x for x in (f"row {e.row}" if e.row else "", e.column or "") if x)
                err(f"  {where + ': ' if where else ''}{e.as_dict()['message']} [{e.rule}]")
            if not args.json and len(r.errors) > 50:
                err(f"  … and {len(r.errors) - 50} more (use --json for all)")
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    return EXIT_OK if all(r.ok for r in results) else EXIT_REFUSED


def cmd_uploads(args) -> int:
    from metrics.store import list_uploads

    ups = list_uploads(connect(args))
    keys = ["id", "kind", "months", "rows", "sha256", "file_name", "uploaded_by", "uploaded_at", "status", "source"]
    if args.json:
        print(json.dumps([{k: u[k] for k in keys} for u in ups], indent=2))
        return EXIT_OK
    if not ups:
        err("No uploads yet.")
        return EXIT_OK
    print(f"{'id':>5}  {'kind':<12} {'months':<17} {'rows':>8}  {'status':<10} {'uploaded at (UTC)':<20} {'by':<12} "
          f"{'source':<36} file")
    for u in ups:
        m = u["months"]
        span = m[0] if len(m) == 1 else f"{m[0]}..{m[-1]}" if m else ""
        print(f"{u['id']:>5}  {u['kind']:<12} {span:<17} {u['rows']:>8}  {u['status']:<10} {u['uploaded_at']:<20} "
              f"{u['uploaded_by'][:12]:<12} {u['source'][:36]:<36} {u['file_name']}")
    return EXIT_OK


def cmd_restore(args) -> int:
    from metrics import impact as impacts
    from metrics.ingest import restore_upload
    from metrics.issues import Refused
    from metrics.store import NotFound

    conn = connect(args)
    try:
        impact = impacts.restore_impact(conn, args.upload_id)
        reason = impacts.check_reason(impact, args.reason)
    except NotFound as e:
        err(str(e))
        return EXIT_REFUSED
    except Refused as r:  # issue 15: restating a final review needs a reason, kept in the audit trail
        if args.reason and args.reason.strip():  # a reason was given but refused (a control character)
            err(f"refused: {r.errors[0].message}")
            return EXIT_REFUSED
        err(f"refused: restoring upload {args.upload_id} restates {len(impact.restatements)} figure(s) of a final "
            "review; nothing was changed. Give --reason \"…\" to restate them:")
        for r in impact.restatements:
            err(f"  review {r.checkpoint}: {r.metric} for {r.month}: {r.old_value} → {r.new_value}")
        return EXIT_REFUSED

    def restatements(c, uid: int) -> None:
        impacts.record_restatements(c, impact.restatements, reason=reason, by=cli_actor(), role=CLI_ROLE,
                                    cause=f"restore of upload {uid}")

    u = restore_upload(conn, args.upload_id, by=cli_actor(), role=CLI_ROLE, settings=settings_for(args),
                       on_commit=restatements if impact.restatements else None)
    err(f"restored upload {u['id']} ({u['kind']} {', '.join(u['months'])}) as current")
    for r in impact.restatements:
        err(f"  restated review {r.checkpoint}: {r.metric} for {r.month}: {r.old_value} → {r.new_value}")
    return EXIT_OK


def cmd_withdraw(args) -> int:
    from metrics.ingest import withdraw_upload
    from metrics.store import AlreadyWithdrawn, NotFound

    try:
        out = withdraw_upload(connect(args), args.upload_id, by=cli_actor(), role=CLI_ROLE, settings=settings_for(args))
    except (NotFound, AlreadyWithdrawn) as e:
        err(str(e))
        return EXIT_REFUSED
    u = out["upload"]
    err(f"withdrew upload {u['id']} ({u['kind']}, {u['file_name']}): its months no longer count")
    for uid, months in out["fallback"].items():
        err(f"  upload {uid} is current again for {', '.join(months)}")
    if out["empty"]:
        err(f"  no other upload covers {', '.join(out['empty'])}: no data for those months")
    err(f"  kpi restore {u['id']} brings it back")
    return EXIT_OK


def register(sub, common) -> None:
    from metrics.contract import KINDS

    s = sub.add_parser("ingest", parents=[common],
                       help="validate and load extracts (CSV files; .xlsx/.xlsm workbooks, one extract per sheet)")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--kind", choices=list(KINDS), help="extract kind (default: detected from the headers)")
    s.add_argument("--month", help="snapshot month YYYY-MM")
    s.add_argument("--months", help="event period YYYY-MM..YYYY-MM")
    s.add_argument("--allow-empty", action="store_true",
                   help="let a file with no rows replace months that hold data")
    s.add_argument("--reason", help="why, when a file restates a final review (kept in the audit trail)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("uploads", parents=[common], help="upload history")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_uploads)

    s = sub.add_parser("restore", parents=[common], help="make an earlier upload current again")
    s.add_argument("upload_id", type=int, metavar="UPLOAD_ID")
    s.add_argument("--reason", help="why, when the restore restates a final review (kept in the audit trail)")
    s.set_defaults(func=cmd_restore)

    s = sub.add_parser("withdraw", parents=[common], help="take an upload out of use (admin; kpi restore undoes it)")
    s.add_argument("upload_id", type=int, metavar="UPLOAD_ID")
    s.set_defaults(func=cmd_withdraw)
