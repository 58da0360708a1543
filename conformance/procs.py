"""Processes and work directories for the conformance suites and the benchmarks: every server
they start runs in its own process group and is stopped by PID (SIGTERM, then SIGKILL), also on
failure; a free port on 127.0.0.1; waiting until a server answers HTTP; a fresh work directory
that is never a directory the harness did not make. Only the standard library."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional


class Procs:
    """Every process this run starts, each in its own process group, stopped by PID."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen] = []
        self._closing = False

    def start(self, argv: list[str], **kw) -> subprocess.Popen:
        with self._lock:
            if self._closing:
                raise RuntimeError("the run is stopping: no new process")
            p = subprocess.Popen(argv, start_new_session=True, **kw)
            self._procs.append(p)
        return p

    def kill(self, p: subprocess.Popen, sig: int) -> None:
        """Sends `sig` to the process group of `p` (pgid == pid) and reaps it."""
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=10)
        with self._lock:
            if p in self._procs:
                self._procs.remove(p)

    def stop(self, p: subprocess.Popen) -> None:
        if p.poll() is None:
            self.kill(p, signal.SIGTERM)
        with self._lock:
            if p in self._procs:
                self._procs.remove(p)

    def stop_all(self) -> None:
        """Stops every process started, and refuses to start more (threads still running after
        an interrupt must not start servers nobody stops)."""
        with self._lock:
            self._closing = True
            procs = list(self._procs)
        for p in reversed(procs):
            self.stop(p)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Optional[Path], n: int = 30) -> str:
    if path is None:
        return "(no log)"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def wait_http(url: str, proc: subprocess.Popen, what: str, log: Optional[Path] = None, timeout: float = 60) -> None:
    """Waits until `url` answers (any HTTP status); fails early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on {url} within {timeout}s:\n{tail(log)}")


def fresh_workdir(work: Path) -> bool:
    """Empties `work` (or creates it) and marks it as the harness's own. Refuses, with a
    message on stderr, to empty a non-empty directory the harness did not make."""
    marker = work / ".sealtrail-conformance"
    if work.exists() and any(work.iterdir()) and not marker.exists():
        print(f"refusing to empty {work}: not a work directory of this harness (no {marker.name})", file=sys.stderr)
        return False
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    marker.touch()
    return True
