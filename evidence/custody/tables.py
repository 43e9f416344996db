"""Tables of the `custody` area."""

from piccolo.table import Table

TABLES: list[type[Table]] = []
