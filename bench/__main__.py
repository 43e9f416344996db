"""``python -m bench [case …] [--smoke] [--repeats N]``: run the benchmark, print one table, write JSON.

Every figure is a ratio against a baseline measured in the same run on the same machine.
``--smoke`` uses small sizes and one repeat: it proves the code runs (``make test``) and
asserts no timings. Results land in ``bench/results/<timestamp>.json`` (``latest.json`` too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import field, hashing, ledger, load, tus_files, uploads
from bench.context import Context, Sizes
from bench.harness import Children, Row, Skip, install_signal_handlers, python_version
from bench.report import render
from bench.stack import drop_pg, pg_available, pg_url, work_root

CASES: dict[str, Callable[[Context], list[Row]]] = {
    "direct": uploads.run_direct,
    "tus": tus_files.run,
    "sha256": hashing.run,
    "check-in": field.run_check_in,
    "range": field.run_range,
    "ledger": ledger.run,
    "timeline": ledger.run_timeline,
    "load": load.run,
}
RESULTS = Path(__file__).resolve().parent / "results"
VERSIONS = ("litestar", "uvicorn", "piccolo", "asyncpg", "minio", "moto", "tuspy", "httpx", "msgspec")


def versions() -> dict[str, str]:
    found = {"python": python_version(), "platform": platform.platform()}
    for name in VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    node = shutil.which("node")
    if node:
        import subprocess

        found["node"] = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    return found


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("cases", nargs="*", metavar="case", help=f"one or more of {', '.join(CASES)} (default: all)")
    parser.add_argument("--smoke", action="store_true", help="small sizes, one repeat, < 60 s; asserts no timings")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per case (default 3; smoke 1)")
    parser.add_argument(
        "--tus-s3-mib", type=int, default=None, help="tus size on S3 in MiB (default 512: moto holds objects in RAM)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, files) and the bench database")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    install_signal_handlers()
    sizes = Sizes.smoke() if args.smoke else Sizes()
    if args.tus_s3_mib:
        sizes.tus_s3 = args.tus_s3_mib * 1024 * 1024
    url = pg_url(args.smoke)
    pg_skip = pg_available(url) or ""
    work = work_root()
    ctx = Context(
        smoke=args.smoke,
        repeats=args.repeats or (1 if args.smoke else 3),
        work=work,
        sizes=sizes,
        pg_url=None if pg_skip else url,
        pg_skip=pg_skip,
    )
    if pg_skip:
        ctx.log(f"PostgreSQL skipped: {pg_skip} (S3 cases use SQLite + S3)")
    selected = args.cases or list(CASES)
    rows: list[Row] = []
    failures = 0
    try:
        for name in selected:
            ctx.log(f"case {name} …")
            started = time.monotonic()
            try:
                rows += CASES[name](ctx)
            except Skip as why:
                rows.append(Row(case=name, config="", metric="", unit="", skipped=str(why)))
            except Exception as exc:
                failures += 1
                traceback.print_exc()
                rows.append(Row(case=name, config="", metric="", unit="", skipped=f"FAILED: {type(exc).__name__}: {exc}"[:300]))
            ctx.log(f"case {name} done in {time.monotonic() - started:.1f} s")
    finally:
        ctx.stop_shared()
        Children.stop_all()
        if ctx.pg_url and not args.keep:
            drop_pg(ctx.pg_url)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "created_at": datetime.now(UTC).isoformat(),
        "smoke": args.smoke,
        "repeats": ctx.repeats,
        "cpu_count": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "versions": versions(),
        "postgresql": pg_skip or "used",
        "sizes": vars(sizes),
        "rows": [row.as_json() for row in rows],
    }
    print(render(rows, report))
    _write(report, smoke=args.smoke)
    return 1 if failures else 0


def _memory_gb() -> float:
    import psutil

    return round(psutil.virtual_memory().total / 1e9, 1)


def _write(report: dict[str, object], *, smoke: bool) -> None:
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    if smoke:  # git-ignored: the smoke run proves the code runs, its figures mean nothing
        name = "smoke-latest.json"
    else:
        name = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ".json"
        (RESULTS / "latest.json").write_text(text)
    (RESULTS / name).write_text(text)
    print(f"results: {RESULTS / name}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
