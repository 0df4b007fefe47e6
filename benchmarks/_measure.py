"""Shared by the benchmarks: run a command as a child process and measure its wall
time and peak resident memory (from the child's own rusage, so runs don't mix)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time


def run_once(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one run; raises if the command fails badly."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def bnlint_command() -> list[str]:
    """`bnlint` as a user runs it: the console script pip installed beside this Python
    (`python -m bnlint` adds runpy's start-up), or the module where there is none."""
    script = os.path.join(os.path.dirname(sys.executable), "bnlint")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "bnlint"]


def user_env(env: dict | None = None) -> dict:
    """The environment of a user's machine: Python writes and reuses bytecode caches.
    (This sandbox sets PYTHONDONTWRITEBYTECODE, which would make every run recompile
    bnlint's sources while Keras, installed by pip, ships compiled.)"""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure_together(commands: dict[str, tuple[list[str], int]], env: dict | None = None) -> dict[str, dict]:
    """Median time and peak RSS per named (command, runs), the runs of all commands
    interleaved evenly over the session, so that a machine that speeds up or slows down
    meanwhile weighs on each command alike (a ratio of medians stays fair)."""
    env = user_env(env)
    for command, _ in commands.values():
        run_once(command, env)  # warm-up, untimed: bytecode and the page cache, as on a second use
    order = sorted(((i + 0.5) / runs, name) for name, (_, runs) in commands.items() for i in range(runs))
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _, name in order:
        samples[name].append(run_once(commands[name][0], env))
    return {
        name: {
            "median_s": statistics.median(s for s, _ in runs),
            "peak_rss_mib": max(m for _, m in runs),
            "runs": len(runs),
        }
        for name, runs in samples.items()
    }


def print_heading(title: str, header: str) -> None:
    """A table's title, its column header and a rule under it."""
    print()
    print(title)
    print(header)
    print("-" * len(header))


def print_rss_scaling(
    peaks: dict[str, float], sizes: dict[str, float], suffixes, extra: dict[str, dict[str, float]] | None = None
) -> None:
    """One line per file format: how peak RSS grows from ResNet50 to ResNet152 against the weights.

    `peaks` maps "ResNet50.keras"-style cases to bnlint's peak RSS; `extra` adds other columns
    (e.g. {"keras": {...}}) by name."""
    for suffix in suffixes:
        small, large = "ResNet50" + suffix, "ResNet152" + suffix
        others = "".join(f", {name} {values[large] / values[small]:.2f}x" for name, values in (extra or {}).items())
        print(
            f"peak RSS ResNet152/ResNet50 ({suffix}): bnlint {peaks[large] / peaks[small]:.2f}x{others} "
            f"(weights {sizes[large] / sizes[small]:.2f}x)"
        )
