"""Ledger cases (placeholder)."""

from __future__ import annotations

from bench.context import Context
from bench.harness import Row, Skip


def run(ctx: Context) -> list[Row]:
    raise Skip("not written yet")


def run_timeline(ctx: Context) -> list[Row]:
    raise Skip("not written yet")
