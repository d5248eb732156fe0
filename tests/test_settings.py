"""Settings: list settings as people type them, and a bad setting is one line with exit code 2."""

from __future__ import annotations

import pytest
from pydantic_settings import NoDecode  # noqa: E402

from assistant.settings import Settings, SettingsInvalidError, load_settings

from .conftest import cli

LISTS = [name for name, f in Settings.model_fields.items() if NoDecode in f.metadata]


def test_every_list_setting_is_covered():
    assert sorted(LISTS) == [
        "api_keys",
        "cors_origins",
        "embed_origins",
        "trusted_proxies",
        "web_allow_hosts",
    ]


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("https://www.example.org", ["https://www.example.org"]),
        ("https://a.org, https://b.org", ["https://a.org", "https://b.org"]),
        ('["https://a.org", "https://b.org"]', ["https://a.org", "https://b.org"]),
        ("", []),
    ],
)
def test_a_list_setting_takes_one_value_commas_or_json(monkeypatch, name, typed, parsed):
    monkeypatch.setenv(f"POLICY_ASSISTANT_{name.upper()}", typed)
    assert getattr(load_settings(), name) == parsed


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("CORS_ORIGINS", '["https://a.org"', "not a valid JSON list"),
        ("API_KEYS", "[1, 2]", "only strings"),
        ("PORT", "eighty", "valid integer"),
        ("FUSION", "average", "'weighted' or 'rrf'"),
        ("MAX_UPLOAD_MB", "-3", "greater than 0"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(monkeypatch, variable, value, why):
    monkeypatch.setenv(f"POLICY_ASSISTANT_{variable}", value)
    with pytest.raises(SettingsInvalidError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"POLICY_ASSISTANT_{variable}: ") and why in message
    assert "\n" not in message


def test_serve_with_a_bad_setting_says_so_in_one_line_and_exits_2(tmp_path):
    """The README's example of a plain origin works; a broken one stops `serve` at once."""
    env = {"POLICY_ASSISTANT_DATA_DIR": str(tmp_path), "POLICY_ASSISTANT_PORT": "eighty"}
    result = cli(env, "serve")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: POLICY_ASSISTANT_PORT: Input should be a valid integer, unable to parse string "
        "as an integer"
    ]
    del env["POLICY_ASSISTANT_PORT"]
    result = cli({**env, "POLICY_ASSISTANT_CORS_ORIGINS": "[https://www.example.org"}, "serve")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: POLICY_ASSISTANT_CORS_ORIGINS: ")
