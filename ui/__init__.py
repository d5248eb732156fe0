"""The doors over the assistant: the HTTP API, the Gradio chat, the embed page and the widget.

Imports only the `assistant` package's public names; `create_app` builds the whole web app.
"""
