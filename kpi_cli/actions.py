"""``kpi actions list|add|update``: the actions log (:mod:`metrics.actions`) from the command line.

``list`` prints each action's current state (``--json``: with its history); ``add`` agrees an action at a
review that is not final; ``update`` records a status change or correction as a new entry. Writes are
audited as the operating-system user (role ``cli``). Bad input: a sentence naming the field, exit 1,
nothing written.
"""

from __future__ import annotations

import json
import sys

from kpi_cli.common import CLI_ROLE, EXIT_OK, EXIT_REFUSED, cli_actor, connect, err


def _action_json(a) -> dict:
    def entry(e) -> dict:
        return {"id": e.id, "title": e.title, "owner": e.owner, "due": e.due.isoformat(), "status": e.status,
                "note": e.note, "author": e.author, "created_at": e.created_at}

    return {"id": a.id, "checkpoint": a.checkpoint.isoformat(), "kpi": a.kpi, "title": a.title, "owner": a.owner,
            "due": a.due.isoformat(), "status": a.status, "history": [entry(e) for e in a.history]}


def cmd_list(args) -> int:
    from metrics.actions import list_actions

    conn = connect(args)
    try:
        actions = list_actions(conn, args.at, args.kpi)
    except ValueError as e:
        err(f"kpi: {e}")
        return EXIT_REFUSED
    finally:
        conn.close()
    if args.json:
        json.dump([_action_json(a) for a in actions], sys.stdout, indent=2, ensure_ascii=False)
        print()
        return EXIT_OK
    for a in actions:
        print(f"A{a.id}\t{a.checkpoint}\t{a.kpi}\t{a.status_text}\tdue {a.due}\t{a.owner}\t{a.title}")
    if not actions:
        err("No actions recorded.")
    return EXIT_OK


def _write(args, what) -> int:
    from metrics.actions import ActionReadOnly

    conn = connect(args)
    try:
        entry_id = what(conn)
    except (ValueError, LookupError, ActionReadOnly) as e:
        err(f"kpi: {e} Nothing was changed.")
        return EXIT_REFUSED
    finally:
        conn.close()
    print(entry_id)
    return EXIT_OK


def cmd_add(args) -> int:
    from metrics.actions import add_action

    return _write(args, lambda conn: add_action(conn, args.at, args.kpi, args.title, args.owner, args.due,
                                                cli_actor(), status=args.status, note=args.note, role=CLI_ROLE))


def cmd_update(args) -> int:
    from metrics.actions import add_update

    return _write(args, lambda conn: add_update(conn, args.id, cli_actor(), status=args.status, owner=args.owner,
                                                due=args.due, title=args.title, note=args.note, role=CLI_ROLE))


def register(subparsers, common) -> None:
    from metrics.actions import STATUSES

    p = subparsers.add_parser("actions", help="the actions log: what is being done about each KPI, by which role "
                                              "or team, by when")
    sub = p.add_subparsers(dest="actions_command", required=True, metavar="SUBCOMMAND")
    s = sub.add_parser("list", parents=[common], help="each action's current state (--json: with its history)")
    s.add_argument("--at", metavar="YYYY-MM-DD", help="only actions agreed at this review")
    s.add_argument("--kpi", help="only this KPI's actions")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)
    s = sub.add_parser("add", parents=[common], help="agree an action at a review that is not final")
    s.add_argument("--at", required=True, metavar="YYYY-MM-DD", help="the review where it was agreed")
    s.add_argument("--kpi", required=True, help="the KPI id")
    s.add_argument("--title", required=True, help="the action, one line of plain text")
    s.add_argument("--owner", required=True, help="a role or team, never a person's name")
    s.add_argument("--due", required=True, metavar="YYYY-MM-DD")
    s.add_argument("--status", default="open", choices=list(STATUSES))
    s.add_argument("--note", default="")
    s.set_defaults(func=cmd_add)
    s = sub.add_parser("update", parents=[common], help="a status change or correction, as a new entry")
    s.add_argument("id", type=int, help="the action's number (A12 → 12)")
    s.add_argument("--status", choices=list(STATUSES))
    s.add_argument("--owner", help="a role or team, never a person's name")
    s.add_argument("--due", metavar="YYYY-MM-DD")
    s.add_argument("--title", help="the corrected action text")
    s.add_argument("--note", default="", help="why: what was done or what was wrong")
    s.set_defaults(func=cmd_update)
