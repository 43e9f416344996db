"""Plumbing of the benchmark: child processes, ports, memory sampling, statistics, the result rows.

Every child process is started in its own process group and killed with it, on success,
failure or Ctrl-C (``Children.stop_all`` runs from ``finally`` and ``atexit``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

MiB = 1024 * 1024
MB = 1_000_000


class Skip(Exception):
    """A case cannot run here (missing tool, missing route); the message says why."""


# --- child processes ------------------------------------------------------------------------


class Child:
    def __init__(self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None, log: Path):
        self.name = name
        self.log_path = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            list(argv), env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        Children.started.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        with contextlib.suppress(ValueError):
            Children.started.remove(self)


class Children:
    started: list[Child] = []

    @classmethod
    def stop_all(cls) -> None:
        for child in list(reversed(cls.started)):
            with contextlib.suppress(Exception):
                child.stop()


atexit.register(Children.stop_all)


def _on_signal(signum: int, frame: Any) -> None:
    Children.stop_all()
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _on_signal)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, child: Child | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{child.name if child else 'server'} did not open port {port} within {timeout:.0f} s")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# --- memory -------------------------------------------------------------------------------------


class RssSampler:
    """Peak resident memory of one process (and its children) sampled every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.start_rss = self._rss()
        self.peak = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        try:
            total = self.process.memory_info().rss
            for child in self.process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            return int(total)
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.start_rss)


# --- timing and statistics ---------------------------------------------------------------------


@contextlib.contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


@dataclass
class Stat:
    median: float
    low: float
    high: float
    samples: list[float]

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        values = [float(v) for v in samples]
        return cls(median=statistics.median(values), low=min(values), high=max(values), samples=values)

    @property
    def spread_pct(self) -> float:
        """(max − min) / median, in percent: how much the repeats disagree."""
        return 0.0 if not self.median else 100.0 * (self.high - self.low) / abs(self.median)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(pct / 100.0 * (len(ordered) - 1))))
    return ordered[rank]


@dataclass
class Row:
    """One line of the table: our figure, the baseline measured in the same run, their ratio."""

    case: str
    config: str
    metric: str
    unit: str
    ours: Stat | None = None
    baseline: Stat | None = None
    baseline_name: str = ""
    # ours / baseline, or baseline / ours for "lower is better" metrics, so > 1 is always good.
    ratio: Stat | None = None
    target: str = ""
    met: bool | None = None
    rss_growth_mb: float | None = None
    note: str = ""
    skipped: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("ours", "baseline", "ratio"):
            stat = getattr(self, key)
            if stat is not None:
                data[key]["spread_pct"] = round(stat.spread_pct, 1)
        return data


def ratio_stat(ours: Sequence[float], baseline: Sequence[float], *, higher_is_better: bool = True) -> Stat:
    """Per-repeat ratios (each repeat's pair was measured back to back), then their median."""
    pairs = zip(ours, baseline, strict=True)
    return Stat.of([(o / b if higher_is_better else b / o) if (b and o) else 0.0 for o, b in pairs])


def python_version() -> str:
    return sys.version.split()[0]
