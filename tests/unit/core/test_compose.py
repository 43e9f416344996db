"""docker-compose.yml cannot start here (no Docker engine); check what it wires instead."""

from __future__ import annotations

from pathlib import Path

import yaml

from backend.core.settings import load_settings, setting_names

ROOT = Path(__file__).resolve().parents[3]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_fieldproof_variable_in_compose_is_a_real_setting():
    environment = _compose()["services"]["api"]["environment"]
    variables = {k for k in environment if k.startswith("FIELDPROOF_")}
    assert variables, "the api service sets no FIELDPROOF_* variables"
    assert variables <= set(setting_names())
    settings = load_settings({k: str(v) for k, v in environment.items()})
    assert settings.effective_database_url.startswith("postgresql://")
    assert settings.effective_store_url == "http://minio:9000"


def test_evidence_bucket_is_created_with_object_lock():
    init = _compose()["services"]["minio-init"]["entrypoint"]
    bucket = _compose()["services"]["api"]["environment"]["FIELDPROOF_S3_BUCKET"]
    assert f"mc mb --with-lock local/{bucket}" in init


def test_services_have_health_checks():
    services = _compose()["services"]
    for name in ("postgres", "minio", "api"):
        assert "healthcheck" in services[name], name
    assert services["postgres"]["image"].startswith("postgres:16")
