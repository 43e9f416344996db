"""Settings come only from FIELDPROOF_* variables; a bad value names its variable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.settings import SettingsError, load_settings, setting_names


def test_defaults_are_the_embedded_store():
    settings = load_settings({})
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("var/fieldproof.sqlite3")
    assert settings.effective_store_url.startswith("file://")
    assert settings.port == 8000
    assert settings.direct_upload_limit == 25 * 1024 * 1024


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"FIELDPROOF_PORT": "eighty"}, "FIELDPROOF_PORT"),
        ({"FIELDPROOF_PORT": "70000"}, "FIELDPROOF_PORT"),
        ({"FIELDPROOF_ACCESS_TOKEN_TTL_S": "86400"}, "FIELDPROOF_ACCESS_TOKEN_TTL_S"),
        ({"FIELDPROOF_DATABASE_URL": "mysql://x"}, "FIELDPROOF_DATABASE_URL"),
        ({"FIELDPROOF_STORE_URL": "ftp://x"}, "FIELDPROOF_STORE_URL"),
        ({"FIELDPROOF_STORE_URL": "http://minio:9000"}, "FIELDPROOF_S3_ACCESS_KEY"),
        ({"FIELDPROOF_DEMO_DATA": "maybe"}, "FIELDPROOF_DEMO_DATA"),
        ({"FIELDPROOF_PROT": "8000"}, "FIELDPROOF_PROT"),
    ],
)
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert str(caught.value).startswith(variable)


def test_test_only_variables_are_not_settings():
    assert load_settings({"FIELDPROOF_TEST_DATABASE_URL": "postgresql://x/y"}).database_url == ""


@given(st.integers(min_value=1, max_value=65535))
def test_any_valid_port_round_trips(port):
    assert load_settings({"FIELDPROOF_PORT": str(port)}).port == port


@given(st.text(min_size=1, max_size=8).filter(lambda s: not s.strip().lstrip("+-").isdigit()))
def test_non_numeric_ports_are_refused(raw):
    with pytest.raises(SettingsError, match="FIELDPROOF_PORT"):
        load_settings({"FIELDPROOF_PORT": raw})


def test_every_field_has_a_variable():
    names = setting_names()
    assert "FIELDPROOF_DATABASE_URL" in names
    assert "FIELDPROOF_CLOCK_SKEW_TOLERANCE_S" in names
    assert len(names) == len(set(names))


def test_readme_lists_every_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    missing = [name for name in setting_names() if name not in readme]
    assert not missing, f"README settings table lacks {missing}"
