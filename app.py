"""decision_aid in the browser: `streamlit run app.py`.

Four pages, one module each under app_pages/; they lay out widgets and call the
decision_aid package, which does all the reasoning. Nothing about a patient is
stored on the server beyond the browser session.
"""

import streamlit as st

st.set_page_config(
    page_title="Lumbar spine decision aid",
    page_icon="🩺",
    layout="wide",
    initial_sidebar_state="auto",
    menu_items={
        "About": "An open-source, rule-based decision aid for lumbar spine surgery. "
        "It supports, and does not replace, clinical judgement."
    },
)

pages = [
    st.Page("app_pages/consultation.py", title="Consultation", icon=":material/stethoscope:", default=True),
    st.Page("app_pages/explore.py", title="Explore", icon=":material/insights:"),
    st.Page("app_pages/teaching.py", title="Teaching", icon=":material/school:"),
    st.Page("app_pages/knowledge_base.py", title="Knowledge base", icon=":material/menu_book:"),
]
st.navigation(pages, position="top").run()
