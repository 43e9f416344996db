"""Requirement traceability: which regulation IDs have at least one passing test.

The pytest plugin part (``record``/``write``) is driven from tests/conftest.py; running
``python -m tests.traceability`` prints the matrix per area and lists P0 IDs without a test.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "docs" / "requirements.toml"
RESULTS = ROOT / "var" / "test-requirements.json"


def register() -> dict[str, dict[str, str]]:
    with REGISTER.open("rb") as handle:
        data = tomllib.load(handle)
    return {item["id"]: item for item in data["requirement"]}


def unknown_ids(ids: set[str]) -> set[str]:
    return ids - set(register())


def write(proved: dict[str, list[str]]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(proved, indent=1, sort_keys=True, ensure_ascii=False))


def matrix(proved: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    reqs = register()
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for rid, item in reqs.items():
        cell = counts[item["area"]][item["priority"]]
        cell[1] += 1
        if proved.get(rid):
            cell[0] += 1
    lines = [f"{'area':<8}{'P0':>10}{'P1':>10}{'P2':>10}"]
    for area in sorted(counts):
        cells = [counts[area].get(p, [0, 0]) for p in ("P0", "P1", "P2")]
        lines.append(f"{area:<8}" + "".join(f"{f'{c[0]}/{c[1]}':>10}" if c[1] else f"{'-':>10}" for c in cells))
    missing_p0 = sorted(rid for rid, item in reqs.items() if item["priority"] == "P0" and not proved.get(rid))
    return lines, missing_p0


def main() -> int:
    if not RESULTS.exists():
        print("no test results recorded; run pytest first", file=sys.stderr)
        return 1
    proved = json.loads(RESULTS.read_text())
    lines, missing = matrix(proved)
    print("\nRequirement traceability (IDs with ≥ 1 passing test / IDs in the register):")
    print("\n".join(lines))
    print(f"P0 without a passing test ({len(missing)}): {', '.join(missing) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
