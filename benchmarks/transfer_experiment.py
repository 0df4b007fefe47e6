"""Transfer experiment: which BN treatment wins when fine-tuning on a small shifted dataset,
and where `bnlint probe`'s threshold lies.

    python benchmarks/transfer_experiment.py [--seeds 4] [--quick] [--out benchmarks/results]

A small Conv-BN-ReLU CNN (Keras 3, BN momentum 0.99) is pretrained on a synthetic SOURCE
domain of 32x32 RGB textures (6 classes: two stripe orientations, checkerboard, dots, rings,
blobs), generated offline with numpy from a fixed seed. For each TARGET domain (the same
classes under a shift of growing strength: colour cast, contrast loss, brightness, noise
and blur), the pretrained model is fine-tuned on a small target training set
with a new head, ALL base weights trainable (conv kernels and BN gamma/beta alike, Adam),
at batch sizes 8 and 32, under four BN treatments:

  as saved      BN momentum 0.99, BN in training mode under fit (Keras' default fine-tune)
  momentum 0.9  every BN layer's momentum set to 0.9 (bnlint's BN002 fix)
  BN frozen     BN layers trainable=False (Keras 3: inference mode under fit, gamma/beta fixed)
  recalibrated  AdaBN: every BN layer's moving_mean/moving_variance replaced, layer by layer
                in network order, by the exact mean and population variance of its input on
                the target training data; then fine-tuned as "BN frozen" (training-mode BN
                would put back the batch noise and the train/inference gap that recalibration
                removes)

Training accuracy (training mode, from fit) and validation accuracy (inference mode:
model.evaluate on held-out target data, run by fit's validation_data) are recorded per epoch
and seed. The probe score of each target domain is bnlint.shift's overall_score: the pretrained
model in inference mode on the target training data, each BN layer's input moments against
its stored moving statistics. Held-out SOURCE data gives the "close" reference.

The target data of a domain is fixed; the seed sets the new head's initialization and the
shuffling order, the same seeds for every arm (paired comparisons: "as saved" and "momentum
0.9" even train identically, only their moving statistics differ). Results go to
OUT/transfer_experiment.{json,md,png}; the proposed probe threshold is printed and written to
the .md (--margin: the accuracy advantage that counts, default 0.02). Needs only numpy, Keras 3 (TensorFlow backend) and matplotlib: no data or weights are
downloaded. A full run (6 domains x 4 arms x 2 batch sizes x 4 seeds = 192 fine-tunes) took
10 minutes on 2 cores shared with other work; --quick is a smoke run (under a minute) whose
numbers mean nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from bnlint.shift import ChannelMoments, layer_shift, overall_score  # noqa: E402

SIZE = 32
CLASSES = ("stripes-h", "stripes-v", "checker", "dots", "rings", "blobs")
ARMS = ("as saved", "momentum 0.9", "BN frozen", "recalibrated")
BATCH_SIZES = (8, 32)
VALIDATION_BATCH = 120  # inference mode: the batch size changes the speed, not the result


@dataclass(frozen=True)
class Shift:
    """A target domain: every field is 0 (or 1 for factors) in the source domain."""

    name: str
    cast: float = 0.0  # strength of a fixed per-channel gain and offset (colour cast)
    contrast: float = 1.0  # factor on the deviation from each image's mean
    brightness: float = 0.0  # added to every pixel
    noise: float = 0.0  # extra Gaussian pixel noise (std)
    blur: float = 0.0  # Gaussian blur sigma in pixels


SOURCE = Shift("source")
DOMAINS = (
    Shift("none"),
    Shift("mild", cast=0.25, contrast=0.8, brightness=0.05, noise=0.03),
    Shift("moderate", cast=0.35, contrast=0.75, brightness=0.07, noise=0.04, blur=0.2),
    Shift("marked", cast=0.42, contrast=0.68, brightness=0.085, noise=0.05, blur=0.35),
    Shift("strong", cast=0.5, contrast=0.6, brightness=0.1, noise=0.06, blur=0.5),
    Shift("very strong", cast=1.0, contrast=0.25, brightness=0.1, noise=0.04),
)
CAST_GAIN = np.array([0.6, -0.2, -0.5])
CAST_OFFSET = np.array([-0.15, 0.05, 0.25])


# ----------------------------------------------------------------------------- data


def _blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur over the two spatial axes (reflecting borders)."""
    if sigma <= 0:
        return images
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    for axis in (1, 2):
        padded = np.pad(images, [(radius, radius) if a == axis else (0, 0) for a in range(4)], mode="reflect")
        out = np.zeros_like(images)
        for i, w in enumerate(taps):
            out += w * np.take(padded, np.arange(i, i + SIZE), axis=axis)
        images = out
    return images


def _pattern(rng: np.random.Generator, label: int) -> np.ndarray:
    """One grey-level texture in [0, 1] of class `label`."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    freq = rng.uniform(3.0, 6.0)
    phase = rng.uniform(0, 2 * np.pi)
    if label in (0, 1):
        theta = np.deg2rad(rng.uniform(-25, 25) + 90 * label)
        p = np.sin(2 * np.pi * freq * (x * np.sin(theta) + y * np.cos(theta)) + phase) > 0
    else:
        theta = np.deg2rad(rng.uniform(-20, 20))
        u, v = x * np.cos(theta) - y * np.sin(theta), x * np.sin(theta) + y * np.cos(theta)
        su, sv = np.sin(2 * np.pi * freq * u + phase), np.sin(2 * np.pi * freq * v + rng.uniform(0, 2 * np.pi))
        if label == 2:
            p = su * sv > 0
        elif label == 3:
            p = (su + sv) > 1.1
        elif label == 4:
            cy, cx = rng.uniform(0.2, 0.8, size=2)
            p = np.sin(2 * np.pi * freq * np.hypot(x - cx, y - cy) + phase) > 0
        else:
            field = _blur(rng.normal(size=(1, SIZE, SIZE, 1)), 2.5)[0, :, :, 0]
            p = field > np.median(field)
    return p.astype(np.float64)


def make_domain(shift: Shift, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n images (float32 NHWC in about [0, 1]) with balanced labels, deterministic from seed."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    images = np.empty((n, SIZE, SIZE, 3))
    for i, label in enumerate(labels):
        pattern = _pattern(rng, int(label))[:, :, None]
        while True:  # two colours whose luminances differ enough to see the texture
            fg, bg = rng.uniform(0, 1, size=(2, 3))
            if abs((fg - bg) @ np.array([0.3, 0.59, 0.11])) > 0.25:
                break
        images[i] = bg + pattern * (fg - bg)
    images = _blur(images, 0.6 + shift.blur)  # the source has soft edges too
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    images = mean + (images - mean) * shift.contrast
    images = images * (1 + shift.cast * CAST_GAIN) + shift.cast * CAST_OFFSET + shift.brightness
    images += rng.normal(scale=0.02 + shift.noise, size=images.shape)
    return np.clip(images, 0, 1).astype(np.float32), labels.astype(np.int32)


# ----------------------------------------------------------------------------- model


def build_model(keras, widths: tuple[int, ...]):
    """Conv(no bias)-BN-ReLU blocks, max-pooling between them, global average pooling, softmax head."""
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    x = inputs
    for i, width in enumerate(widths):
        if i:
            x = layers.MaxPooling2D(name=f"pool{i}")(x)
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(len(CLASSES), activation="softmax", name="source_head")(x)
    return keras.Model(inputs, outputs, name="pretrained_cnn")


def bn_layers(keras, model) -> list:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def _batches(x: np.ndarray, size: int = 256):
    for start in range(0, len(x), size):
        yield x[start : start + size]


def probe(keras, model, x: np.ndarray) -> dict:
    """What `bnlint probe` computes: every BN layer's input moments in inference mode
    against the layer's stored moving statistics."""
    bns = bn_layers(keras, model)
    taps = keras.Model(model.inputs[0], [bn.input for bn in bns])
    moments = [ChannelMoments(axis=bn.axis) for bn in bns]
    for batch in _batches(x):
        for m, value in zip(moments, taps(batch, training=False), strict=True):
            m.update(np.asarray(value))
    shifts = [
        layer_shift(m.mean, m.variance, bn.moving_mean.numpy(), bn.moving_variance.numpy(), bn.epsilon)
        for m, bn in zip(moments, bns, strict=True)
    ]
    return {
        "overall_score": overall_score(shifts),
        "layers": {bn.name: {**asdict(s), "score": s.score} for bn, s in zip(bns, shifts, strict=True)},
    }


def recalibrate(keras, model, x: np.ndarray) -> None:
    """AdaBN: each BN layer's moving statistics := the exact mean and population variance of
    its input over x, in network order (earlier layers already recalibrated)."""
    for bn in bn_layers(keras, model):
        tap = keras.Model(model.inputs[0], bn.input)
        m = ChannelMoments(axis=bn.axis)
        for batch in _batches(x):
            m.update(np.asarray(tap(batch, training=False)))
        bn.moving_mean.assign(m.mean.astype(np.float32))
        bn.moving_variance.assign(m.variance.astype(np.float32))


class Finetuner:
    """The pretrained model with a new head and its BN layers set up for `arm`, compiled once
    for one batch size and reused for every domain and seed: before each run its weights and
    its optimizer state are put back, which makes the run a fresh fine-tune (tracing a new
    model's train and test functions would cost more than most runs' training)."""

    def __init__(self, keras, path: str, arm: str, batch_size: int, lr: float):
        self.keras, self.batch_size = keras, batch_size
        pretrained = keras.models.load_model(path)
        features = pretrained.get_layer("gap").output
        outputs = keras.layers.Dense(len(CLASSES), activation="softmax", name="target_head")(features)
        self.model = keras.Model(pretrained.inputs[0], outputs, name="finetuned")
        for bn in bn_layers(keras, self.model):
            if arm == "momentum 0.9":
                bn.momentum = 0.9
            elif arm in ("BN frozen", "recalibrated"):
                bn.trainable = False
        self.head = self.model.get_layer("target_head")
        self.base = [layer for layer in self.model.layers if layer is not self.head and layer.weights]
        self.optimizer = keras.optimizers.Adam(lr)
        self.model.compile(
            optimizer=self.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False
        )
        self.optimizer.build(self.model.trainable_variables)
        self.optimizer_start = [v.numpy() for v in self.optimizer.variables]

    def run(self, start, seed: int, train: tuple, val: tuple, epochs: int) -> dict:
        """Fine-tune from the base weights of the model `start` with a head drawn from `seed`."""
        keras = self.keras
        keras.utils.set_random_seed(seed)
        for layer in self.base:
            layer.set_weights(start.get_layer(layer.name).get_weights())
        kernel, bias = self.head.kernel, self.head.bias
        kernel.assign(keras.initializers.GlorotUniform(seed=seed)(kernel.shape))
        bias.assign(np.zeros(bias.shape, np.float32))
        for variable, value in zip(self.optimizer.variables, self.optimizer_start, strict=True):
            variable.assign(value)
        h = self.model.fit(
            *train,
            batch_size=self.batch_size,
            epochs=epochs,
            validation_data=val,
            validation_batch_size=VALIDATION_BATCH,
            verbose=0,
        )
        return {
            "seed": seed,
            "train_accuracy": [float(v) for v in h.history["accuracy"]],
            "val_accuracy": [float(v) for v in h.history["val_accuracy"]],
            "train_loss": [float(v) for v in h.history["loss"]],
            "val_loss": [float(v) for v in h.history["val_loss"]],
        }


# ----------------------------------------------------------------------------- analysis


def summarize(results: dict) -> dict:
    """Per domain, arm and batch size: final validation accuracy and train-val gap over seeds."""
    table = {}
    for domain, entry in results["domains"].items():
        row = {"probe_score": entry["probe"]["overall_score"], "arms": {}}
        for key, runs in entry["runs"].items():
            final_val = np.array([r["val_accuracy"][-1] for r in runs])
            gap = np.array([r["train_accuracy"][-1] - r["val_accuracy"][-1] for r in runs])
            row["arms"][key] = {
                "val_mean": float(final_val.mean()),
                "val_std": float(final_val.std(ddof=1)) if len(runs) > 1 else 0.0,
                "gap_mean": float(gap.mean()),
                "n": len(runs),
            }
        table[domain] = row
    return table


def crossing(rows: list[dict], values: list[float], margin: float) -> dict:
    """Where `values` (one per row, rows sorted by probe score) cross `margin` for good: from
    the first row after which every value exceeds it. The threshold interpolates linearly in
    score between that row and the one before it."""
    first = next((i for i in range(len(rows)) if all(v > margin for v in values[i:])), None)
    if first is None:
        return {
            "threshold": None,
            "reason": "adapting BN does not beat BN frozen by the margin in the strongest domain",
        }
    if first == 0:
        return {"threshold": None, "reason": "adapting BN beats BN frozen by the margin even in the closest domain"}
    (s_lo, v_lo), (s_hi, v_hi) = (
        (rows[first - 1]["probe_score"], values[first - 1]),
        (rows[first]["probe_score"], values[first]),
    )
    return {
        "threshold": float(s_lo + (margin - v_lo) / (v_hi - v_lo) * (s_hi - s_lo)),
        "bracket": [rows[first - 1]["domain"], rows[first]["domain"]],
        "clean": all(v <= margin for v in values[:first]),
    }


def propose_threshold(table: dict, margin: float) -> dict:
    """Per domain, the advantage of letting BN adapt: the better of "momentum 0.9" and
    "recalibrated" minus "BN frozen" (final validation accuracy, mean over seeds), per batch
    size and averaged over them. The proposed threshold is where the averaged advantage
    crosses `margin`; other margins and each batch size alone show how much it depends on
    that choice."""
    rows = []
    for domain, row in sorted(table.items(), key=lambda item: item[1]["probe_score"]):
        per_bs, variances = {}, []
        for bs in BATCH_SIZES:
            arms = row["arms"]
            adapt = max((arms[f"momentum 0.9|{bs}"], arms[f"recalibrated|{bs}"]), key=lambda a: a["val_mean"])
            frozen = arms[f"BN frozen|{bs}"]
            per_bs[bs] = adapt["val_mean"] - frozen["val_mean"]
            variances.append(adapt["val_std"] ** 2 / adapt["n"] + frozen["val_std"] ** 2 / frozen["n"])
        rows.append(
            {
                "domain": domain,
                "probe_score": row["probe_score"],
                "advantage": float(np.mean(list(per_bs.values()))),
                "advantage_per_batch_size": per_bs,
                "standard_error": float(np.sqrt(np.sum(variances)) / len(variances)),
            }
        )
    sensitivity = {}
    for m in sorted({0.01, margin, 0.05}):
        sensitivity[m] = {"mean": crossing(rows, [r["advantage"] for r in rows], m)}
        for bs in BATCH_SIZES:
            sensitivity[m][f"bs {bs}"] = crossing(rows, [r["advantage_per_batch_size"][bs] for r in rows], m)
    return {"margin": margin, "domains": rows, **sensitivity[margin]["mean"], "sensitivity": sensitivity}


def observations(table: dict) -> list[str]:
    """Plain facts read off the table, one bullet each."""
    lines = []
    domains = sorted(table, key=lambda d: table[d]["probe_score"])
    for bs in BATCH_SIZES:
        best = []
        for d in domains:
            arms = {arm: table[d]["arms"][f"{arm}|{bs}"]["val_mean"] for arm in ARMS}
            top = max(arms, key=arms.get)
            best.append(f"{d} ({table[d]['probe_score']:.2f}): {top} {arms[top]:.3f}")
        lines.append(f"- Best arm at batch size {bs}: " + "; ".join(best) + ".")
    for bs in BATCH_SIZES:
        cells = []
        for d in domains:
            arms = table[d]["arms"]
            saved, frozen = arms[f"as saved|{bs}"], arms[f"BN frozen|{bs}"]
            cells.append(f"{d} {saved['val_mean'] - frozen['val_mean']:+.3f} (gap {saved['gap_mean']:+.2f})")
        lines.append(
            f"- 'as saved' minus 'BN frozen' at batch size {bs} (final train-minus-val gap of 'as saved' in "
            "brackets): " + "; ".join(cells) + "."
        )
    for bs in BATCH_SIZES:
        cells = []
        for d in domains:
            arms = table[d]["arms"]
            diff = arms[f"momentum 0.9|{bs}"]["val_mean"] - arms[f"as saved|{bs}"]["val_mean"]
            cells.append(f"{d} {diff:+.3f}")
        lines.append(f"- 'momentum 0.9' minus 'as saved' (BN002's fix) at batch size {bs}: " + "; ".join(cells) + ".")
    return lines


def markdown(results: dict, table: dict, threshold: dict) -> str:
    cfg = results["config"]
    lines = [
        "# Transfer experiment: BN treatment versus probe score",
        "",
        f"Generated by `benchmarks/transfer_experiment.py` ({'quick smoke run, numbers meaningless' if cfg['quick'] else 'full run'}), "
        f"{cfg['seeds']} seeds, {cfg['epochs']} fine-tuning epochs on {cfg['n_target_train']} target images "
        f"({cfg['n_target_val']} for validation), base pretrained on {cfg['n_source_train']} source images "
        f"(source validation accuracy {results['pretrain']['val_accuracy']:.3f}). All base weights trainable, Adam "
        f"lr {cfg['lr']}. Run time {results['seconds']:.0f} s.",
        "",
        f"Probe score of held-out source data (the 'close' reference): **{results['source_probe']['overall_score']:.3f}**.",
        "",
        "Final validation accuracy (inference mode), mean ± std over seeds; in brackets the final train-minus-validation "
        "accuracy gap.",
        "",
    ]
    header = "| domain | probe score | " + " | ".join(f"{arm} bs {bs}" for bs in BATCH_SIZES for arm in ARMS) + " |"
    lines += [header, "|" + "---|" * (2 + len(ARMS) * len(BATCH_SIZES))]
    for domain, row in sorted(table.items(), key=lambda item: item[1]["probe_score"]):
        cells = []
        for bs in BATCH_SIZES:
            for arm in ARMS:
                a = row["arms"][f"{arm}|{bs}"]
                cells.append(f"{a['val_mean']:.3f} ± {a['val_std']:.3f} ({a['gap_mean']:+.2f})")
        lines.append(f"| {domain} | {row['probe_score']:.3f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Probe threshold",
        "",
        "Advantage of letting BN adapt = the better of *momentum 0.9* and *recalibrated* minus *BN frozen* "
        f"(final validation accuracy, averaged over batch sizes {BATCH_SIZES}); margin {threshold['margin']:.3f}.",
        "",
        "| domain | probe score | advantage ± standard error | " + " | ".join(f"bs {bs}" for bs in BATCH_SIZES) + " |",
        "|---|---|---|" + "---|" * len(BATCH_SIZES),
    ]
    for r in threshold["domains"]:
        per_bs = " | ".join(f"{r['advantage_per_batch_size'][bs]:+.3f}" for bs in BATCH_SIZES)
        lines.append(
            f"| {r['domain']} | {r['probe_score']:.3f} | {r['advantage']:+.3f} ± {r['standard_error']:.3f} | {per_bs} |"
        )
    lines.append("")
    if threshold["threshold"] is None:
        lines.append(f"No threshold: {threshold['reason']}.")
    else:
        lo, hi = threshold["bracket"]
        lines.append(
            f"Proposed threshold: **{threshold['threshold']:.2f}**: the averaged advantage crosses the margin between "
            f"'{lo}' and '{hi}' (linear interpolation in probe score) and stays above it in every stronger domain"
            f"{'' if threshold['clean'] else '; the crossover is not clean: some weaker domain is above the margin too'}."
            " Below it BN frozen is as good as adapting BN, within the margin."
        )

    def cell(c: dict) -> str:
        return f"{c['threshold']:.2f} ({c['bracket'][0]} → {c['bracket'][1]})" if c["threshold"] is not None else "none"

    lines += [
        "",
        "How the crossing depends on the margin and on the batch size:",
        "",
        "| margin | averaged | " + " | ".join(f"bs {bs}" for bs in BATCH_SIZES) + " |",
        "|---|---|" + "---|" * len(BATCH_SIZES),
    ]
    for m, c in threshold["sensitivity"].items():
        lines.append(f"| {m:.2f} | {cell(c['mean'])} | " + " | ".join(cell(c[f"bs {bs}"]) for bs in BATCH_SIZES) + " |")
    lines += [
        "",
        "The advantage takes the better of two adaptive arms per domain, which favours adapting slightly. The data "
        "are synthetic and the network small: the threshold belongs to this setup and is a starting point for "
        "`bnlint probe`, not a universal constant.",
    ]
    lines += ["", "## Observations", "", *observations(table), ""]
    return "\n".join(lines)


def plot(results: dict, table: dict, threshold: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    domains = sorted(table, key=lambda d: table[d]["probe_score"])
    scores = np.array([table[d]["probe_score"] for d in domains])
    colors = {"as saved": "tab:red", "momentum 0.9": "tab:orange", "BN frozen": "tab:blue", "recalibrated": "tab:green"}
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))

    def score_axis(ax, ylabel: str, label_at: float = 0.02) -> None:
        if threshold["threshold"] is not None:
            ax.axvline(threshold["threshold"], color="gray", linestyle="--", label="proposed threshold")
        for d, x in zip(domains, scores, strict=True):
            ax.annotate(d, (x, label_at), xycoords=("data", "axes fraction"), rotation=90, fontsize=8, color="gray")
        ax.set_xscale("log")
        ax.set_xlabel("probe score of the target training data (log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)

    for ax, bs in zip(axes[0], BATCH_SIZES, strict=True):
        for k, arm in enumerate(ARMS):
            means = [table[d]["arms"][f"{arm}|{bs}"]["val_mean"] for d in domains]
            stds = [table[d]["arms"][f"{arm}|{bs}"]["val_std"] for d in domains]
            x = scores * (1 + 0.015 * (k - 1.5))  # spread the error bars apart
            ax.errorbar(x, means, yerr=stds, marker="o", capsize=3, label=arm, color=colors[arm])
        score_axis(ax, "final validation accuracy (inference mode)")
        ax.set_title(f"batch size {bs}: final validation accuracy, mean ± std over seeds")
        ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.06, 0.0))

    ax = axes[1, 0]
    rows = threshold["domains"]
    x = np.array([r["probe_score"] for r in rows])
    for bs, style in zip(BATCH_SIZES, (":", "--"), strict=True):
        ax.plot(x, [r["advantage_per_batch_size"][bs] for r in rows], style, marker=".", label=f"batch size {bs}")
    ax.errorbar(
        x,
        [r["advantage"] for r in rows],
        yerr=[r["standard_error"] for r in rows],
        marker="o",
        capsize=3,
        color="black",
        label="averaged (± standard error)",
    )
    ax.axhline(threshold["margin"], color="tab:purple", linewidth=1, label=f"margin {threshold['margin']:.2f}")
    ax.axhline(0, color="black", linewidth=0.5)
    score_axis(ax, "best of (momentum 0.9, recalibrated) minus BN frozen", label_at=0.55)
    ax.set_title("advantage of letting BN adapt over keeping it frozen")
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1, 1]
    strongest = domains[-1]
    for arm in ARMS:
        for bs, style in zip(BATCH_SIZES, ("-", "--"), strict=True):
            runs = results["domains"][strongest]["runs"][f"{arm}|{bs}"]
            curve = np.mean([r["val_accuracy"] for r in runs], axis=0)
            ax.plot(np.arange(1, len(curve) + 1), curve, style, marker=".", color=colors[arm], label=f"{arm}, bs {bs}")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (mean over seeds)")
    ax.set_title(f"domain '{strongest}': validation accuracy per epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="fine-tuning seeds per arm and batch size (default 4)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (< 1 minute); numbers are meaningless")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads (default 2)")
    parser.add_argument("--margin", type=float, default=0.02, help="accuracy advantage that counts (default 0.02)")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    quick = args.quick
    domains = (DOMAINS[0], DOMAINS[-1]) if quick else DOMAINS
    cfg = {
        "quick": quick,
        "seeds": 1 if quick else args.seeds,
        "widths": [8, 16] if quick else [16, 32, 48, 64],
        "n_source_train": 600 if quick else 4000,
        "n_source_val": 300 if quick else 1200,
        "n_target_train": 120 if quick else 480,
        "n_target_val": 120 if quick else 600,
        "pretrain_epochs": 1 if quick else 6,
        "epochs": 1 if quick else 5,
        "lr": 3e-4,
        "pretrain_lr": 2e-3,
        "domains": [asdict(d) for d in domains],
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "threads": args.threads,
    }
    start = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)

    # Pretraining on the source domain.
    keras.utils.set_random_seed(0)
    x_src, y_src = make_domain(SOURCE, cfg["n_source_train"], seed=1000)
    x_src_val, y_src_val = make_domain(SOURCE, cfg["n_source_val"], seed=1001)
    model = build_model(keras, tuple(cfg["widths"]))
    model.compile(
        optimizer=keras.optimizers.Adam(cfg["pretrain_lr"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    history = model.fit(
        x_src, y_src, batch_size=32, epochs=cfg["pretrain_epochs"], validation_data=(x_src_val, y_src_val), verbose=0
    )
    pretrain = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    pretrain["val_accuracy"] = pretrain["val_accuracy"][-1]
    print(f"pretrained: source val accuracy {pretrain['val_accuracy']:.3f} ({time.perf_counter() - start:.0f} s)")
    tmp = tempfile.TemporaryDirectory()
    path = os.path.join(tmp.name, "pretrained_cnn.keras")
    model.save(path)
    source_probe = probe(keras, model, x_src_val)
    print(f"probe score, held-out source data: {source_probe['overall_score']:.3f}")

    results = {"config": cfg, "pretrain": pretrain, "source_probe": source_probe, "domains": {}}
    finetuners = {(arm, bs): Finetuner(keras, path, arm, bs, cfg["lr"]) for bs in BATCH_SIZES for arm in ARMS}
    for domain in domains:
        index = DOMAINS.index(domain)
        train = make_domain(domain, cfg["n_target_train"], seed=2000 + 10 * index)
        val = make_domain(domain, cfg["n_target_val"], seed=2001 + 10 * index)
        pretrained, recalibrated = keras.models.load_model(path), keras.models.load_model(path)
        entry = {"shift": asdict(domain), "probe": probe(keras, pretrained, train[0]), "runs": {}}
        recalibrate(keras, recalibrated, train[0])
        entry["probe_after_recalibration"] = probe(keras, recalibrated, train[0])["overall_score"]
        print(f"\n{domain.name}: probe score {entry['probe']['overall_score']:.3f}")
        for bs in BATCH_SIZES:
            for arm in ARMS:
                start_model = recalibrated if arm == "recalibrated" else pretrained
                runs = [
                    finetuners[arm, bs].run(start_model, seed, train, val, cfg["epochs"])
                    for seed in range(cfg["seeds"])
                ]
                entry["runs"][f"{arm}|{bs}"] = runs
                final = [r["val_accuracy"][-1] for r in runs]
                print(
                    f"  bs {bs:>2} {arm:<13} val {np.mean(final):.3f} ± {np.std(final, ddof=min(1, len(final) - 1)):.3f}  "
                    f"train {np.mean([r['train_accuracy'][-1] for r in runs]):.3f}  "
                    f"({time.perf_counter() - start:.0f} s)"
                )
        results["domains"][domain.name] = entry
    tmp.cleanup()

    results["seconds"] = time.perf_counter() - start
    table = summarize(results)
    threshold = propose_threshold(table, args.margin)
    results["summary"], results["threshold"] = table, threshold
    text = markdown(results, table, threshold)
    print("\n" + text)
    with open(os.path.join(args.out, "transfer_experiment.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "transfer_experiment.md"), "w") as f:
        f.write(text)
    plot(results, table, threshold, os.path.join(args.out, "transfer_experiment.png"))
    print(f"\nwrote {args.out}/transfer_experiment.{{json,md,png}} in {results['seconds']:.0f} s")


if __name__ == "__main__":
    main()
