"""Linting a file in a forked child with a deadline (every model file; any file after a
parallel worker died).

The HDF5 library can loop forever on a corrupt file (a zeroed object header inside a global
heap collection: its parser never advances, found by tests/fuzz_harness.py), and nothing in
Python can interrupt a C loop. So a model is read and linted in a child process (fork: a
copy of this one, ~2 ms), and a file that takes longer than the limit `max-seconds` is
killed and reported as one error line; the other files go on. Where fork is unavailable
the model is read in this process.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import TypeVar

from .errors import InputError

T = TypeVar("T")
FORK = hasattr(os, "fork") and sys.platform.startswith("linux")  # macOS: fork is unsafe with its frameworks


def run_isolated(function: Callable[[], T], seconds: int) -> T:
    if not FORK:
        return function()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, send the outcome, and leave without flushing the parent's buffers
        os.close(read_end)
        try:
            outcome: tuple = ("ok", function())
        except InputError as exc:
            outcome = ("input", str(exc), exc.keras_version)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            outcome = ("internal", type(exc).__name__, str(exc), traceback.format_exc())
        try:
            data = pickle.dumps(outcome)
        except Exception as exc:  # noqa: BLE001
            data = pickle.dumps(("internal", type(exc).__name__, str(exc), traceback.format_exc()))
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        os._exit(0)
    os.close(write_end)
    try:
        data = _read_until(read_end, time.monotonic() + seconds)
    finally:
        os.close(read_end)
    if data is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise InputError(
            f"reading the file took longer than {seconds} s (limit max-seconds): a corrupt structure can "
            "make the HDF5 library loop"
        )
    _, status = os.waitpid(pid, 0)
    if not data:
        raise InputError(_death(status))
    outcome = pickle.loads(data)  # noqa: S301 - our own child's bytes
    if outcome[0] == "ok":
        return outcome[1]
    if outcome[0] == "input":
        raise InputError(outcome[1], keras_version=outcome[2])
    _, name, message, trace = outcome
    if os.environ.get("BNLINT_TRACEBACK"):
        raise RuntimeError(f"in the reading process:\n{trace}")
    raise type(name, (Exception,), {})(message)


def _death(status: int) -> str:
    """Why the child ended without an answer: killed (the kernel's out-of-memory killer sends
    SIGKILL) or crashed (a corrupt HDF5 file can make libhdf5 crash)."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
        return "the process linting the file was killed (SIGKILL: out of memory?)"
    if os.WIFSIGNALED(status):
        return f"the process linting the file crashed ({signal.Signals(os.WTERMSIG(status)).name}: a corrupt file?)"
    return "the process linting the file ended without an answer"


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None if it is not done by the deadline."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
