"""Upload: drop extracts, see what they are and what they will change, confirm once, keep history."""

from __future__ import annotations

import streamlit as st

from dashboard import access
from dashboard.components.chrome import render_demo_notice
from dashboard.components.text import plain
from dashboard.components.upload import (render_done, render_examples, render_file, render_history, render_load,
                                         render_uploader)
from metrics.ingest import Batch

identity = access.page("upload")
st.title("Upload monthly extracts")
render_demo_notice()
st.write("Drop one or several extracts. Each file is checked in full before anything is stored: a file "
         "with any error changes nothing, and you get the complete list of what to fix. One click then loads "
         "every file ticked, after showing what it changes in the reviews.")
render_done()

files = render_uploader()
batch = Batch()  # the files dropped together: one file per snapshot month
ready = []
for i, f in enumerate(files or []):
    with st.container(border=True):
        ready += render_file(i, f, batch)
render_load(ready)

st.divider()
st.header("Upload history")
render_history(identity)

st.divider()
st.header("Example files and column guide")
render_examples()
st.caption(f"Council: {plain(access.council_settings().council_name)}.")
