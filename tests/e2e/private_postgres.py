"""A PostgreSQL cluster of one test's own, which the test may stop and start at will.

Fault tests stop the database mid-request; the shared server (``FIELDPROOF_TEST_DATABASE_URL``)
serves every other test of the run, so it is never stopped. This makes a throwaway cluster
with ``initdb`` + ``pg_ctl`` on a free port in a temporary folder. PostgreSQL refuses to run
as root: as root (CI) it runs as the ``postgres`` system user (``runuser``); a test skips
with the reason when neither works.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import _free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as() -> list[str] | None:
    """The command prefix that runs PostgreSQL as a user it accepts, or None if none."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else None


def unavailable_reason() -> str | None:
    if _bin_dir() is None:
        return "initdb/pg_ctl not installed (apt-get install postgresql): no private cluster to stop"
    if _run_as() is None:
        return "running as root without a 'postgres' user for runuser: initdb refuses root"
    return None


class PrivateCluster:
    """``start()`` once (initdb), then ``stop()`` / ``start()`` as the test needs; ``destroy()``."""

    def __init__(self) -> None:
        bin_dir, prefix = _bin_dir(), _run_as()
        assert bin_dir is not None, unavailable_reason()
        assert prefix is not None, unavailable_reason()
        self.bin = bin_dir
        self.prefix = prefix
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fp-pg-"))  # not under pytest's root-only tmp tree
        self.data = self.root / "data"
        if prefix:
            shutil.chown(self.root, user="postgres")
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bin / tool), *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "-t", "30", "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate`` is a crash: no checkpoint, connections cut; the next start recovers."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
