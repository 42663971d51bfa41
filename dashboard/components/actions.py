"""The actions log on the pages (:mod:`metrics.actions`): the table of actions for a KPI at a review, each
action's history, and the small forms with which uploaders and admins agree actions and record updates.

Which actions a review shows: those agreed at it or at an earlier review, except those closed (done or
dropped) before the previous review (``metrics.actions.actions_for_review``). User text is shown as text,
never markdown: in dataframe cells, ``st.text`` or through :func:`~dashboard.components.text.plain`.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import loaders
from dashboard.components.forms import save
from dashboard.components.text import plain, uk_date, uk_datetime

OWNER_HELP = ("A role or team, never a person's name (people move on; the log outlives them and the packs are "
              "shared): e.g. 'Head of Service, Children in Care' or 'Workforce team'. Text that looks like a "
              "person's name, an email address or a title such as Mr/Ms/Dr is refused.")
FLASH = "actions-flash"


def _previous(board) -> str | None:
    return board.previous_checkpoint.isoformat() if board.previous_checkpoint else None


def _status(a, on: dt.date) -> str:
    return a.status_text + (" · overdue" if a.overdue(on) else "")


def actions_frame(actions: list, on: dt.date, *, kpi_column: bool = False):
    """One row per action (its current state), every cell text."""
    import pandas as pd

    from metrics.actions import changes

    rows = []
    for a in actions:
        last = a.history[-1]
        update = "" if not a.updated else f"{uk_date(last.created_at[:10])}: " + (
            "; ".join(changes(a.history[-2], last)) or "note added")
        rows.append({"Ref": f"A{a.id}", **({"KPI": a.label} if kpi_column else {}), "Action": a.title,
                     "Owner": a.owner, "Due": uk_date(a.due), "Status": _status(a, on),
                     "Agreed at": uk_date(a.checkpoint), "Last update": update})
    columns = ["Ref", *(["KPI"] if kpi_column else []), "Action", "Owner", "Due", "Status", "Agreed at", "Last update"]
    return pd.DataFrame(rows, columns=columns)


def render_actions_table(actions: list, on: dt.date, *, kpi_column: bool = False, key: str = "actions-table") -> None:
    text = st.column_config.TextColumn
    st.dataframe(actions_frame(actions, on, kpi_column=kpi_column), hide_index=True, width="stretch", key=key,
                 column_config={"Ref": text(width=50), "KPI": text(width="medium"), "Action": text(width="large"),
                                "Owner": text(width="medium"), "Due": text(width=90), "Status": text(width=120),
                                "Agreed at": text(width=90), "Last update": text(width="medium")})


def render_history(actions: list) -> None:
    """Each action's entries, first to latest: what changed, the note (as text), who and when."""
    from metrics.actions import changes

    with st.expander("History of each action"):
        for a in actions:
            st.markdown(f"**A{a.id}** · {plain(a.title)}")
            for before, e in zip([None, *a.history], a.history):
                what = (f"Agreed: {e.status_text}, owner {e.owner}, due {uk_date(e.due)}" if before is None
                        else "Updated: " + ("; ".join(changes(before, e)) or "note added"))
                st.caption(plain(f"#{e.id} · {what} · {e.author} · {uk_datetime(e.created_at)}"))
                if e.note:
                    st.text(e.note)


def _write(what, done: str) -> None:
    """Server-side role check, then the change (metrics.actions writes its audit row in the same transaction)."""
    from dashboard import access
    from metrics.actions import ActionReadOnly

    save(access.guard("actions_edit"), what, done, read_only=ActionReadOnly, flash=FLASH)


def render_action_forms(metric: str, at: str, actions: list) -> None:
    """Agree an action (at a review not yet final) and update one (status change or correction)."""
    from metrics.actions import NOTE_LIMIT, OWNER_LIMIT, STATUSES, TITLE_LIMIT, add_action, add_update

    db, v = loaders.version()
    open_reviews = [c for c in loaders.checkpoint_choices(db, v) if not c.final]
    with st.expander("Agree an action", icon=":material/add_task:"):
        if not open_reviews:
            st.caption("Every configured review is final: add a review checkpoint in Settings first.")
        else:
            ats = [c.at for c in open_reviews]
            labels = {c.at: f"{c.label} ({uk_date(c.at)})" for c in open_reviews}
            with st.form("add-action", clear_on_submit=True):
                review = st.selectbox("Agreed at review", ats, index=ats.index(at) if at in ats else 0,
                                      format_func=labels.get, key="action-review",
                                      help="A final review's actions are read-only: agree new ones at a later review.")
                title = st.text_input("Action", key="action-title", max_chars=TITLE_LIMIT,
                                      help="One line, plain text. No names or case details of children or staff.")
                owner = st.text_input("Owner (a role or team)", key="action-owner", max_chars=OWNER_LIMIT,
                                      help=OWNER_HELP)
                due = st.date_input("Due", key="action-due", value=None, format="DD/MM/YYYY")
                status = st.selectbox("Status", list(STATUSES), format_func=STATUSES.get, key="action-status")
                if st.form_submit_button("Add the action", type="primary"):
                    if due is None:
                        st.error("Not saved: due: choose the date the action is due.", icon=":material/block:")
                    else:
                        _write(lambda conn, by, role: add_action(conn, review, metric, title, owner, due, by,
                                                                 status=status, role=role), "Action A{id} added.")
    if not actions:
        return
    with st.expander("Update an action (status or correction)", icon=":material/edit_note:"):
        st.caption("An update is a new entry: the action as agreed, and every update since, stay in its history.")
        by_id = {a.id: a for a in actions}
        with st.form("update-action", clear_on_submit=True):
            chosen = st.selectbox("Action", list(by_id), key="update-action-id",
                                  format_func=lambda i: f"A{i} · {by_id[i].title[:70]} ({by_id[i].status_text})")
            status = st.selectbox("New status", [None, *STATUSES], key="update-status",
                                  format_func=lambda s: "(unchanged)" if s is None else STATUSES[s])
            due = st.date_input("New due date", key="update-due", value=None, format="DD/MM/YYYY",
                                help="Leave empty to keep the due date.")
            owner = st.text_input("New owner", key="update-owner", max_chars=OWNER_LIMIT,
                                  help="Leave empty to keep the owner. " + OWNER_HELP)
            title = st.text_input("Corrected action text", key="update-title", max_chars=TITLE_LIMIT,
                                  help="Leave empty to keep the text.")
            note = st.text_area("Note (why)", key="update-note", max_chars=NOTE_LIMIT,
                                help="Plain text, e.g. what was done. No names or case details.")
            if st.form_submit_button("Record the update", type="primary"):
                _write(lambda conn, by, role: add_update(
                    conn, chosen, by, status=status, due=due, owner=owner.strip() or None,
                    title=title.strip() or None, note=note, role=role), "Update #{id} recorded.")


def render_kpi_actions(board, metric: str, at: str, identity) -> None:
    """The KPI page's section: the actions for this KPI at the review, their history, the forms for writers."""
    db, v = loaders.version()
    actions = loaders.actions(db, v, str(at), metric, _previous(board))
    st.header("Actions", anchor=False)
    if flash := st.session_state.pop(FLASH, None):
        st.success(plain(flash), icon=":material/task_alt:")
    st.caption(f"What is being done about this priority: actions agreed at the {uk_date(at)} review or earlier "
               "(those closed before the previous review are left out), each with its owner — a role or team — due "
               "date and status. Read-only once the review where they were agreed is final; updates are new entries.")
    on = dt.date.fromisoformat(str(at)[:10])
    if actions:
        render_actions_table(actions, on)
        render_history(actions)
    else:
        st.caption("No actions recorded for this priority.")
    if identity.may("actions_edit"):
        render_action_forms(metric, at, actions)


def render_present_actions(board, metric: str, at: str) -> None:
    """Present: the KPI's actions in a few words each — owner, due, status, action (read-only)."""
    db, v = loaders.version()
    actions = loaders.actions(db, v, str(at), metric, _previous(board))
    if not actions:
        return
    on = dt.date.fromisoformat(str(at)[:10])
    st.subheader("Actions", anchor=False)
    frame = actions_frame(actions, on)[["Owner", "Due", "Status", "Action"]]
    text = st.column_config.TextColumn
    st.dataframe(frame, hide_index=True, width="stretch", key="present-actions",
                 column_config={"Owner": text(width="medium"), "Due": text(width=100), "Status": text(width=130),
                                "Action": text(width="large")})


def render_review_actions(board, at: str) -> None:
    """The Reviews page: every KPI's actions at this review, in one table (updated on each KPI's page)."""
    db, v = loaders.version()
    actions = loaders.actions(db, v, str(at), None, _previous(board))
    st.subheader("Actions")
    st.caption("Actions agreed at this review or earlier, not closed before the previous review. Agree and update "
               "them on each KPI's page." + (" This review is final: its actions are read-only; updates are new "
                                             "entries." if board.final else ""))
    if actions:
        render_actions_table(actions, dt.date.fromisoformat(str(at)[:10]), kpi_column=True, key="review-actions")
    else:
        st.caption("No actions recorded.")
