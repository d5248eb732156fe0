"""policy-assistant's core: settings, search and (soon) grounded answers with citations.

Importing it is cheap: torch, Chroma and Gradio load on first use.
"""

from .settings import Settings

__all__ = ["Settings"]
