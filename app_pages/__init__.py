"""The Streamlit pages: thin layouts that call the decision_aid package."""
