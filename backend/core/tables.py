"""Kernel tables: state shared by every API process (idempotent replays)."""

from piccolo.columns import UUID, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class IdempotentRequest(Table, tablename="core_idempotent_request"):
    """First answer to a mutating request sent with an Idempotency-Key (per user)."""

    id = UUID(primary_key=True)
    scope = Varchar(length=200, unique=True)
    fingerprint = Varchar(length=64)
    status = Integer(default=0)
    headers = Text(default="[]")
    body = Text(default="")
    created_at = Timestamptz()


TABLES: list[type[Table]] = [IdempotentRequest]
