"""Entry point: error display, page config, sign-in gate and navigation — nothing else.

A traceback never reaches a page, however the app was started (``kpi serve``, or ``streamlit run``
from any folder, with or without the project's ``.streamlit/config.toml``): the first thing every
run does is set ``client.showErrorDetails`` to "none", so an error anywhere (gate, page, even a
failed import) shows Streamlit's short redacted notice and the details go to the server log only.
KPI_SHOW_ERROR_DETAILS=true (development only) shows them in full.
"""

import streamlit as st


def _show_details() -> bool:
    try:
        from metrics.settings import get_settings

        return get_settings().show_error_details
    except Exception:  # settings that cannot be read are an error to report plainly, below
        return False


st.set_option("client.showErrorDetails", "full" if _show_details() else "none")

from dashboard import access  # noqa: E402  (after the option: an import error is redacted too)

st.set_page_config(page_title="Intervention review dashboard", page_icon="📊", layout="wide")
identity = access.gate()
st.navigation(access.pages_for(identity), position="sidebar").run()
