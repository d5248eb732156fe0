"""The README's configuration table matches the settings class."""

from __future__ import annotations

from assistant.settings import settings_table

from .conftest import ROOT


def test_readme_settings_table_is_current():
    readme = (ROOT / "README.md").read_text()
    assert settings_table() in readme, "run `python -m assistant.settings` and paste the table"
