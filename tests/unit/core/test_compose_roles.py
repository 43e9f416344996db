"""docker-compose runs the API as a role that owns nothing; only `migrate` is the owner (R-REC-7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from backend.core.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]
INIT = ROOT / "deploy" / "postgres" / "10-fieldproof-app-role.sql"


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return services


@pytest.mark.requirement("R-REC-7")
def test_api_connects_as_the_app_role_and_only_migrate_holds_the_owner() -> None:
    services = _services()
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    api = load_settings({k: str(v) for k, v in services["api"]["environment"].items()})
    assert urlparse(api.effective_database_url).username == "fieldproof_app"
    assert api.migrate_database_url == ""  # the API process never sees the owner's password
    assert services["api"]["command"] == ["fieldproof", "serve"]
    assert services["api"]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    migrate = load_settings({k: str(v) for k, v in services["migrate"]["environment"].items()})
    assert services["migrate"]["command"] == ["fieldproof", "migrate"]
    assert urlparse(migrate.effective_migrate_database_url).username == owner
    assert "./deploy/postgres:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]


@pytest.mark.requirement("R-REC-7")
def test_init_script_makes_the_app_role_and_keeps_the_ledger_insert_only() -> None:
    sql = INIT.read_text()
    assert "CREATE ROLE fieldproof_app LOGIN" in sql
    assert "NOSUPERUSER" in sql
    assert "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO fieldproof_app" in sql
    assert "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON custody_ledger, custody_checkpoint FROM fieldproof_app" in sql


def test_migrate_url_defaults_to_the_database_url_and_is_validated() -> None:
    assert load_settings({}).effective_migrate_database_url == load_settings({}).effective_database_url
    both = load_settings(
        {"FIELDPROOF_DATABASE_URL": "postgresql://app@db/fp", "FIELDPROOF_MIGRATE_DATABASE_URL": "postgresql://owner@db/fp"}
    )
    assert (both.effective_database_url, both.effective_migrate_database_url) == (
        "postgresql://app@db/fp",
        "postgresql://owner@db/fp",
    )
    with pytest.raises(SettingsError, match="FIELDPROOF_MIGRATE_DATABASE_URL"):
        load_settings({"FIELDPROOF_MIGRATE_DATABASE_URL": "mysql://owner@db/fp"})
