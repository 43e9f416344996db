from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T09:33:58:300115"
VERSION = "1.38.0"
DESCRIPTION = "major-decision catalog: a threshold per penalty kind (penalties)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="decisions", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="MajorCatalogEntry",
        tablename="dec_major_catalog_entry",
        column_name="penalties",
        db_column_name="penalties",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": "[]",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
