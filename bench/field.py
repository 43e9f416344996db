"""Field-path cases (placeholder)."""

from __future__ import annotations

from bench.context import Context
from bench.harness import Row, Skip


def run_check_in(ctx: Context) -> list[Row]:
    raise Skip("not written yet")


def run_range(ctx: Context) -> list[Row]:
    raise Skip("not written yet")
