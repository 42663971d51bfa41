"""About: what each KPI means (from the registry), where the data comes from, licences."""

import streamlit as st

from dashboard import access
from dashboard.components.chrome import render_demo_notice
from dashboard.components.text import plain
from dashboard.components.verdict import render_key
from metrics.benchmarks import BENCHMARKED_METRICS
from metrics.kpis import REGISTRY

access.page("about")
settings = access.council_settings()
st.title("About this dashboard")
render_demo_notice()
st.markdown(
    f"This dashboard gathers the evidence the Children's Services Commissioner needs, at three-month "
    f"intervals, on whether {plain(settings.council_name)} is making sufficient progress against the service "
    "priorities in the Terms of Reference of the statutory direction of 1 March 2023."
)
st.header("What each measure means")
for k in REGISTRY.values():
    better = "higher is better" if k.higher_is_better else "lower is better"
    with st.expander(f"{k.label} — ToR {k.tor}"):
        st.write(k.definition)
        st.caption(f"Priority: {k.priority}. Unit: {k.unit}; {better}. Source extract: {k.source_kind}. "
                   f"Id: `{k.id}`.")
        if k.id in BENCHMARKED_METRICS:
            b = BENCHMARKED_METRICS[k.id]
            st.caption(f"Published benchmark: {b.label}. {b.caveat}")
st.header("How progress is judged")
st.markdown(
    "Each review judges the latest month that ended at least the reporting lag (14 days by default) before it. "
    "Small monthly samples (audits, face-to-face conferences) are pooled over three months. Every percentage "
    "carries a 95% interval: where the target lies inside it, the figure cannot be told apart from the target. "
    "Statistical process control (NHS England's *Making Data Count* rules) tells a real change from noise "
    "(**variation**) and whether the target will be met if nothing changes (**assurance**). The method in plain "
    "English, for the Commissioner and the board, is `docs/judgement.md`."
)
render_key(expanded=True)
st.header("Data sources")
st.markdown(
    "- **Monthly extracts** uploaded by the council's performance team (workforce, assessments, child "
    "protection conferences, allocations, audits, complaints, milestones, and aggregate figures). Child and "
    "worker identifiers are pseudonymised with a keyed hash before storage; names, dates of birth and free "
    "text are never stored.\n"
    "- **Published benchmarks**: Department for Education official statistics — Children's social work "
    "workforce (agency rate, 2017–2025), Children looked after in England (3 or more social workers, 2024), "
    "DfE statistical neighbours (2025). Contains public sector information licensed under the "
    "[Open Government Licence v3.0](https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/). "
    "Suppressed figures are shown as missing, never as zero."
)
st.header("Open source")
st.caption("Built with Streamlit, pandas, plotly, pydantic and SQLite.")
