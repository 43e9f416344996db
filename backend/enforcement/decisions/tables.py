"""Tables of the `decisions` area."""

from piccolo.table import Table

TABLES: list[type[Table]] = []
