"""Tables of the `enforcement` area."""

from piccolo.table import Table

TABLES: list[type[Table]] = []
