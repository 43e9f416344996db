"""Piccolo app `core` (kernel tables, own migrations)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from backend.core.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
