"""The ``fieldproof`` command: serve, migrate, demo, create-agency, create-user, check, …"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec

from backend.core import db
from backend.core.keys import rotate
from backend.core.settings import Settings, SettingsError, load_settings

# The application modules are imported inside the commands: `--help` stays instant.

Command = Callable[[Settings, argparse.Namespace], int]


def _bind(settings: Settings) -> None:
    from backend.registry import all_tables

    db.bind(db.make_engine(settings.effective_database_url), all_tables())


def _run(coro: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(coro)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from backend.app import create_app
    from backend.core.http.framing import http_protocol

    app = create_app(settings)
    # http_protocol: unreadable framing is answered as problem+json, not uvicorn's plain text.
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
        http=http_protocol(),
    )
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from backend.registry import migrate

    # As the schema owner when FIELDPROOF_MIGRATE_DATABASE_URL is set: the API's own role owns nothing.
    owner = msgspec.structs.replace(settings, database_url=settings.effective_migrate_database_url)
    asyncio.run(migrate(owner))
    print(f"migrations applied to {_redacted(owner.effective_database_url)}")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from backend import demo
    from backend.app import create_app

    create_app(settings)  # loads (or creates) the key ring and binds every table
    return _run(demo.load(settings))


def cmd_create_agency(settings: Settings, args: argparse.Namespace) -> int:
    from backend.org import schemas as org_schemas
    from backend.org import service as org_service

    _bind(settings)
    data = org_schemas.AgencyIn(
        code=args.code,
        name=args.name,
        kind=args.kind,
        subject_status="confirmed" if args.announcement_no else "pending",
        announcement_no=args.announcement_no or "",
        announcement_date=args.announcement_date,
        domains=args.domain or [],
        matters=args.matter or [],
    )

    async def create() -> int:
        agency = await org_service.create_agency(data=data)
        print(f"agency {agency.code} created: {agency.id}")
        return 0

    return _run(create())


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise SystemExit("passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    from backend.org import schemas as org_schemas
    from backend.org import service as org_service

    _bind(settings)
    password = _read_password()

    async def create() -> int:
        agency = await org_service.get_agency_by_code(code=args.agency)
        if agency is None:
            print(f"no agency with code {args.agency!r}", file=sys.stderr)
            return 2
        data = msgspec.convert(
            {
                "username": args.username,
                "password": password,
                "full_name": args.full_name,
                "roles": args.role,
                "agency_id": str(agency.id),
                "staff_no": args.staff_no or "",
                "legal_qualification_no": args.legal_qualification_no or "",
                "legal_qualification_date": args.legal_qualification_date,
            },
            org_schemas.UserIn,
        )
        user = await org_service.create_user(principal=None, data=data)
        print(f"user {user.username} created: {user.id}")
        return 0

    try:
        return _run(create())
    except msgspec.ValidationError as exc:
        print(f"invalid user: {exc}", file=sys.stderr)
        return 2


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from backend import ops

    report = asyncio.run(ops.connectivity_report(settings))
    for name, status in report.items():
        print(f"{name:<10} {status}")
    return 0 if all(v.startswith("ok") for v in report.values()) else 1


def cmd_rotate_keys(settings: Settings, args: argparse.Namespace) -> int:
    kid = rotate(settings.effective_key_dir)
    print(f"new signing key {kid}; earlier keys stay in the JWKS for {settings.key_retention_s} s")
    return 0


def cmd_calendar_load(settings: Settings, args: argparse.Namespace) -> int:
    """Load a year's State Council holiday notice from a JSON or TOML data file (the same
    validation and recomputation as the Justice Bureau's endpoint, backend/oversight/calendar.py)."""
    from backend.core.errors import ProblemError
    from backend.org.calendar import YearNotice
    from backend.oversight import calendar

    path: Path = args.file
    try:
        raw = path.read_bytes()
        notice = (msgspec.toml.decode if path.suffix == ".toml" else msgspec.json.decode)(raw, type=YearNotice)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        print(f"calendar file {path}: {exc}", file=sys.stderr)
        return 2
    _bind(settings)

    async def load() -> int:
        try:
            loaded = await calendar.load_year(principal=None, notice=notice)
        except ProblemError as exc:
            print(f"calendar file {path}: {exc.detail}" + (f" ({exc.field})" if exc.field else ""), file=sys.stderr)
            return 2
        print(
            f"{loaded.year.year} loaded ({loaded.year.notice_ref}): {len(loaded.year.holidays)} holidays, "
            f"{len(loaded.year.makeup_workdays)} make-up working days; recomputed {loaded.recomputed_notices} answer "
            f"deadlines, {loaded.recomputed_complaints} complaint due dates and {loaded.recomputed_disputes} "
            "jurisdiction agreement deadlines"
        )
        return 0

    return _run(load())


def cmd_ops(name: str) -> Command:
    """Operational commands implemented in backend.ops (ledger, objects, uploads)."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        from backend import ops

        published = []
        for path in getattr(args, "checkpoint", None) or []:
            try:
                published += ops.read_checkpoints(path)
            except (OSError, ValueError) as exc:  # msgspec's errors are ValueErrors
                print(f"checkpoint file {path}: {exc}", file=sys.stderr)
                return 2
        _bind(settings)
        return asyncio.run(ops.run(name, settings, published=published, fix=getattr(args, "fix", False)))

    return run


def _redacted(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return f"{head.split(':')[0]}:***@{tail}" if sep and ":" in head.split("//", 1)[-1] else url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldproof", description="Fieldproof field enforcement and evidence backend")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default=None, help="bind address (default FIELDPROOF_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default FIELDPROOF_PORT)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load idempotent demo data (demo passwords!)").set_defaults(func=cmd_demo)
    sub.add_parser("check", help="report settings and connectivity").set_defaults(func=cmd_check)
    sub.add_parser("rotate-keys", help="create a new signing key").set_defaults(func=cmd_rotate_keys)
    verify = sub.add_parser(
        "verify-ledger",
        help="recompute the custody hash chain, check its checkpoints and that every record has its entries",
    )
    verify.add_argument(
        "--checkpoint",
        action="append",
        type=Path,
        metavar="FILE",
        help="a checkpoint kept outside the server (an export's checkpoint.json, a saved published list); repeatable",
    )
    verify.set_defaults(func=cmd_ops("verify-ledger"))
    reconcile = sub.add_parser(
        "reconcile", help="find objects without evidence rows and rows without objects (JSON report); --fix cleans or re-links"
    )
    reconcile.add_argument(
        "--fix", action="store_true", help="delete orphan staged bytes, re-link what can be re-linked; sealed evidence is kept"
    )
    reconcile.set_defaults(func=cmd_ops("reconcile"))
    for name, help_text in [
        ("verify-objects", "re-hash every stored evidence object and report mismatches"),
        ("sweep-uploads", "expire unfinished resumable uploads and abort orphan multipart uploads"),
        ("sign-checkpoint", "sign a custody ledger checkpoint now"),
    ]:
        sub.add_parser(name, help=help_text).set_defaults(func=cmd_ops(name))

    agency = sub.add_parser("create-agency", help="register an agency")
    agency.add_argument("--code", required=True)
    agency.add_argument("--name", required=True)
    agency.add_argument(
        "--kind",
        required=True,
        choices=["county_government", "justice_bureau", "enforcement_agency", "entrusted_organisation"],
    )
    agency.add_argument("--announcement-no", help="county announcement confirming the enforcement subject (R-AGY-1)")
    agency.add_argument("--announcement-date", help="YYYY-MM-DD")
    agency.add_argument("--domain", action="append", help="enforcement domain (repeatable)")
    agency.add_argument("--matter", action="append", help="matter of the powers-and-duties list (repeatable)")
    agency.set_defaults(func=cmd_create_agency)

    calendar = sub.add_parser("calendar", help="the statutory working-day calendar")
    calendar_sub = calendar.add_subparsers(dest="calendar_command", required=True)
    load = calendar_sub.add_parser("load", help="load a year's State Council holiday notice (JSON or TOML data file)")
    load.add_argument("file", type=Path, help="{year, notice_ref, holidays: [dates], makeup_workdays: [dates]}")
    load.set_defaults(func=cmd_calendar_load)

    user = sub.add_parser("create-user", help="create a user; the password is read from stdin, never an argument")
    user.add_argument("--agency", required=True, help="agency code")
    user.add_argument("--username", required=True)
    user.add_argument("--full-name", required=True)
    user.add_argument("--role", action="append", required=True, choices=["officer", "supervisor", "legal_reviewer", "admin"])
    user.add_argument("--staff-no")
    user.add_argument("--legal-qualification-no")
    user.add_argument("--legal-qualification-date")
    user.set_defaults(func=cmd_create_user)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    func: Command = args.func
    return func(settings, args)


if __name__ == "__main__":
    raise SystemExit(main())
