"""Settings: one msgspec Struct loaded from ``FIELDPROOF_*`` environment variables.

Every field maps to exactly one variable (``FIELDPROOF_`` + upper-case field name).
A bad value stops the process at start with a message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

PREFIX = "FIELDPROOF_"

MiB = 1024 * 1024
GiB = 1024 * MiB


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 8000
    data_dir: str = "var"
    database_url: str = ""
    # The schema owner's URL for `fieldproof migrate`; the API then connects as a role that owns
    # nothing (database_url) and may only INSERT and SELECT the ledger (R-REC-7, docker-compose.yml).
    migrate_database_url: str = ""
    store_url: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: Annotated[str, Meta(min_length=3, max_length=63)] = "fieldproof-evidence"
    s3_staging_bucket: Annotated[str, Meta(min_length=3, max_length=63)] = "fieldproof-staging"
    s3_region: str = "us-east-1"
    key_dir: str = ""
    issuer: str = "fieldproof"
    audience: str = "fieldproof-api"
    access_token_ttl_s: Annotated[int, Meta(ge=30, le=900)] = 600
    refresh_token_ttl_s: Annotated[int, Meta(ge=300)] = 14 * 24 * 3600
    credential_ttl_s: Annotated[int, Meta(ge=300, le=7 * 24 * 3600)] = 24 * 3600
    key_retention_s: Annotated[int, Meta(ge=0)] = 7 * 24 * 3600
    clock_skew_tolerance_s: Annotated[int, Meta(ge=0)] = 120
    json_body_limit: Annotated[int, Meta(ge=1024)] = 1 * MiB
    direct_upload_limit: Annotated[int, Meta(ge=1024)] = 25 * MiB
    tus_chunk_limit: Annotated[int, Meta(ge=MiB)] = 64 * MiB
    tus_max_size: Annotated[int, Meta(ge=MiB)] = 8 * GiB
    tus_expiry_s: Annotated[int, Meta(ge=60)] = 24 * 3600
    tus_max_open_per_user: Annotated[int, Meta(ge=1)] = 20
    # Bytes all unfinished resumable uploads may reserve together (declared lengths).
    tus_staging_quota: Annotated[int, Meta(ge=MiB)] = 256 * GiB
    # Bytes one user's unfinished uploads may reserve, so no one exhausts the staging area alone.
    tus_user_quota: Annotated[int, Meta(ge=MiB)] = 16 * GiB
    # An upload that has received no byte expires this soon (its reservation is released).
    tus_idle_expiry_s: Annotated[int, Meta(ge=60)] = 1800
    s3_part_size: Annotated[int, Meta(ge=5 * MiB, le=512 * MiB)] = 8 * MiB
    evidence_retention_days: Annotated[int, Meta(ge=0)] = 3650
    # Login throttling per (username, client address), backoff doubling after the limit
    # (backend/org/throttle.py); an address has a much higher ceiling over all usernames.
    login_max_failures: Annotated[int, Meta(ge=1)] = 5
    login_window_s: Annotated[int, Meta(ge=1)] = 900
    login_backoff_base_s: Annotated[int, Meta(ge=1)] = 30
    login_backoff_max_s: Annotated[int, Meta(ge=1)] = 900
    login_address_max_failures: Annotated[int, Meta(ge=1)] = 200
    public_verify_per_minute: Annotated[int, Meta(ge=1)] = 60
    min_checked_in_officers: Annotated[int, Meta(ge=1)] = 2
    av_gap_tolerance_s: Annotated[int, Meta(ge=0)] = 5
    # 0 = no pool (a connection per query; tests use it so any event loop may query).
    database_pool_max: Annotated[int, Meta(ge=0, le=200)] = 10
    # Background duties of every API process (0 = off): signed ledger checkpoints, upload sweeper.
    checkpoint_interval_s: Annotated[int, Meta(ge=0)] = 3600
    sweep_interval_s: Annotated[int, Meta(ge=0)] = 600
    log_level: str = "INFO"
    demo_data: bool = False

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_path / 'fieldproof.sqlite3'}"

    @property
    def effective_migrate_database_url(self) -> str:
        return self.migrate_database_url or self.effective_database_url

    @property
    def effective_store_url(self) -> str:
        if self.store_url:
            return self.store_url
        return f"file://{self.data_path / 'objects'}"

    @property
    def effective_key_dir(self) -> Path:
        return Path(self.key_dir).resolve() if self.key_dir else self.data_path / "keys"


def _field_types() -> dict[str, Any]:
    info = msgspec.inspect.type_info(Settings)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.name: f.type for f in info.fields}


def setting_names() -> list[str]:
    """All environment variable names the settings understand."""
    return [PREFIX + name.upper() for name in _field_types()]


def _coerce(raw: str, field_type: Any) -> Any:
    if isinstance(field_type, msgspec.inspect.BoolType):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError("expected a boolean (true/false)")
    if isinstance(field_type, msgspec.inspect.IntType):
        return int(raw.strip())
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment; raise SettingsError naming the bad variable."""
    source = os.environ if env is None else env
    types = _field_types()
    known = set(setting_names())
    values: dict[str, Any] = {}
    for key, raw in source.items():
        if not key.startswith(PREFIX) or key.startswith(PREFIX + "TEST_"):
            continue
        if key not in known:
            raise SettingsError(f"{key}: unknown setting (known: {', '.join(sorted(known))})")
        name = key[len(PREFIX) :].lower()
        try:
            values[name] = _coerce(raw, types[name])
        except ValueError as exc:
            raise SettingsError(f"{key}: {exc}") from None
    try:
        settings = msgspec.convert(values, Settings)
    except msgspec.ValidationError as exc:
        raise SettingsError(_name_variable(str(exc))) from None
    _check_urls(settings)
    return settings


def _name_variable(message: str) -> str:
    # msgspec says "... - at `$.port`"; point at the environment variable instead.
    if "`$." in message:
        head, _, tail = message.partition("`$.")
        field = tail.split("`", 1)[0]
        return f"{PREFIX}{field.upper()}: {head.rstrip(' -')}"
    return message


def _check_urls(settings: Settings) -> None:
    db = settings.effective_database_url
    if not db.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise SettingsError(f"{PREFIX}DATABASE_URL: expected sqlite:///path or postgresql://…, got {db!r}")
    migrate = settings.migrate_database_url
    if migrate and not migrate.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise SettingsError(f"{PREFIX}MIGRATE_DATABASE_URL: expected sqlite:///path or postgresql://…, got {migrate!r}")
    store = settings.effective_store_url
    if not store.startswith(("file://", "http://", "https://")):
        raise SettingsError(f"{PREFIX}STORE_URL: expected file://path or http(s)://host:port, got {store!r}")
    if store.startswith("http") and not (settings.s3_access_key and settings.s3_secret_key):
        raise SettingsError(f"{PREFIX}S3_ACCESS_KEY / {PREFIX}S3_SECRET_KEY: required with an S3 store URL")
