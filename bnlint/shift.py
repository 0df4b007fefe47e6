"""How far data is from what a BN layer's moving statistics expect: the arithmetic
behind `bnlint probe`, `bnlint recalibrate` and the transfer experiment. Pure numpy:
no Keras here, so the numbers can be checked against a direct computation.

Per channel, the data's mean and variance of the BN layer's input are merged batch by
batch (Chan et al.'s pairwise update, in float64: a running sum of squares loses the
variance of activations with a large mean). The variance is the population variance,
the one BN normalizes with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Overall score above which data counts as far from what the BN statistics describe
# (`bnlint probe`'s verdict). From benchmarks/transfer_experiment.py (README, "Is your data far
# from the pretraining data?"): letting BN adapt (momentum 0.9 or recalibrated) beats keeping it
# frozen by more than 2 points of validation accuracy from a probe score of 0.83 on (0.76 at
# batch size 32, 0.94 at 8), and never by more below it.
THRESHOLD = 0.83


class ChannelMoments:
    """Streaming per-channel count, mean and variance over every axis but `axis`."""

    def __init__(self, axis: int | list[int] = -1):
        self.axes = [axis] if isinstance(axis, int) else list(axis)
        self.count = 0
        self.mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None

    def update(self, batch: np.ndarray) -> None:
        values = np.asarray(batch, dtype=np.float64)
        kept = [a % values.ndim for a in self.axes]
        reduced = tuple(a for a in range(values.ndim) if a not in kept)
        n = int(np.prod([values.shape[a] for a in reduced])) if reduced else 1
        if n == 0:
            return
        mean = values.mean(axis=reduced)
        m2 = ((values - np.expand_dims(mean, reduced)) ** 2).sum(axis=reduced) if reduced else np.zeros_like(mean)
        if self.mean is None:
            self.count, self.mean, self._m2 = n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self._m2 = self._m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    @property
    def variance(self) -> np.ndarray:
        if self._m2 is None:
            raise ValueError("no data")
        return self._m2 / self.count


@dataclass(frozen=True)
class LayerShift:
    channels: int
    mean_shift: float  # mean over channels of |mu_data - moving_mean| / sqrt(moving_variance + eps)
    log_var_ratio: float  # mean over channels of |log((var_data + eps) / (moving_variance + eps))|

    @property
    def score(self) -> float:
        """Both parts are 0 for data the statistics describe exactly; a mean off by one
        standard deviation and a variance off by a factor e count alike."""
        return self.mean_shift + self.log_var_ratio


def layer_shift(
    mean: np.ndarray, variance: np.ndarray, moving_mean: np.ndarray, moving_variance: np.ndarray, epsilon: float
) -> LayerShift:
    mean, variance = np.asarray(mean, np.float64).ravel(), np.asarray(variance, np.float64).ravel()
    moving_mean = np.asarray(moving_mean, np.float64).ravel()
    moving_variance = np.asarray(moving_variance, np.float64).ravel()
    stored = moving_variance + epsilon
    shift = np.abs(mean - moving_mean) / np.sqrt(stored)
    ratio = np.abs(np.log((variance + epsilon) / stored))
    return LayerShift(channels=int(mean.size), mean_shift=float(shift.mean()), log_var_ratio=float(ratio.mean()))


def overall_score(shifts: list[LayerShift]) -> float:
    """The mean of the layers' scores: every BN layer weighs alike, whatever its width."""
    return float(np.mean([s.score for s in shifts])) if shifts else 0.0


def mix(stored: np.ndarray, measured: np.ndarray, prior: int, samples: int) -> np.ndarray:
    """Schneider et al.'s pseudo-sample mixing: the stored statistic counts as `prior`
    samples beside the `samples` measured ones (prior 0: the measured statistic)."""
    weight = prior / (prior + samples) if prior + samples else 0.0
    return weight * np.asarray(stored, np.float64) + (1.0 - weight) * np.asarray(measured, np.float64)
