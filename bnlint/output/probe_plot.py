"""`bnlint probe --plot FILE.png`: the shift of each BN layer along the network's depth.
matplotlib is an optional extra (`pip install 'bnlint[plot]'`)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from ..errors import InputError

MISSING = "--plot needs matplotlib, which is not installed: pip install 'bnlint[plot]'"


def check_available() -> None:
    """Fail before the model runs, not after."""
    try:
        found = importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):  # ValueError: a module blocked in sys.modules
        found = False
    if not found:
        raise InputError(MISSING)


def plot(report: dict[str, Any], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise InputError(MISSING) from None
    rows = report["layers"]
    depth = list(range(1, len(rows) + 1))
    figure, axes = plt.subplots(figsize=(max(6.0, min(20.0, 0.12 * len(rows) + 4)), 4), layout="constrained")
    axes.plot(depth, [row["score"] for row in rows], marker="o", markersize=3, label="score")
    axes.plot(depth, [row["mean_shift"] for row in rows], linewidth=1, alpha=0.7, label="mean shift")
    axes.plot(depth, [row["log_var_ratio"] for row in rows], linewidth=1, alpha=0.7, label="|log variance ratio|")
    axes.axhline(
        report["threshold"], color="grey", linestyle="--", linewidth=1, label=f"threshold {report['threshold']:g}"
    )
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # layers are counted, not measured
    axes.set_xlabel("BN layer (network order)")
    axes.set_ylabel("shift")
    axes.set_title(
        f"{os.path.basename(report['path'].rstrip('/'))}: score {report['score']:.3f} ({report['verdict']}), {report['samples']} samples"
    )
    axes.legend(loc="best", fontsize="small")
    try:
        figure.savefig(path, dpi=100)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot write --plot {path} ({exc})") from None
    finally:
        plt.close(figure)
