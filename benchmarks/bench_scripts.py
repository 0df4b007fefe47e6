"""Benchmark: `bnlint` on a corpus of generated training scripts versus bare `ast.parse`.

    pip install -e '.[dev]' && python benchmarks/bench_scripts.py [--files 1000] [--runs 5]

Generates realistic ~200-line transfer-learning scripts (imports of every Keras
flavour, data pipelines, pretrained bases wired in every way, freezing loops, helper
functions, callbacks, two training phases, evaluation and plotting code) into a temp
dir, then times, in the same process and on the same files: reading and `ast.parse`
of every file (the floor any AST linter pays), and `bnlint.linting.lint_paths` on the
directory (discovery, settings, reading, parsing, facts, every rule). Medians over
`--runs`. Exits 1 if bnlint takes more than 3x the parse time.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import statistics
import sys
import tempfile
import time

TARGET_RATIO = 3.0

FLAVOURS = [
    ("import keras\nfrom keras import layers\n", "keras"),
    ("import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n", "keras"),
    ("import tf_keras as keras\nfrom tf_keras import layers\n", "keras"),
]
BASES = ["ResNet50", "MobileNetV2", "EfficientNetB0", "DenseNet121", "InceptionV3", "Xception", "VGG16", "NASNetMobile"]

HELPERS = '''

def plot_history(history, title, path="history.png"):
    """Plot training and validation curves."""
    import matplotlib.pyplot as plt

    metrics = [m for m in history.history if not m.startswith("val_")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4))
    for ax, metric in zip(axes, metrics):
        ax.plot(history.history[metric], label="train")
        if "val_" + metric in history.history:
            ax.plot(history.history["val_" + metric], label="validation")
        ax.set_title(f"{title}: {metric}")
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def class_weights(counts):
    total = sum(counts.values())
    return {index: total / (len(counts) * count) for index, count in enumerate(counts.values())}


def count_images(folder):
    counts = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            counts[name] = len([f for f in os.listdir(path) if f.lower().endswith((".png", ".jpg", ".jpeg"))])
    return counts


class Timer:
    def __init__(self, label):
        self.label = label
        self.start = None

    def __enter__(self):
        self.start = time.time()
        return self

    def __exit__(self, *exc):
        print(f"{self.label}: {time.time() - self.start:.1f}s")
        return False


def set_seed(seed):
    """Make runs repeatable: Python, NumPy and the backend share one seed."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def cosine_schedule(epoch, lr, total=EPOCHS, warmup=2, base=LEARNING_RATE):
    if epoch < warmup:
        return base * (epoch + 1) / warmup
    progress = (epoch - warmup) / max(1, total - warmup)
    return 0.5 * base * (1 + math.cos(math.pi * progress))


def describe_dataset(name, counts):
    total = sum(counts.values())
    print(f"{name}: {total} images in {len(counts)} classes")
    for label, count in sorted(counts.items(), key=lambda item: -item[1]):
        share = 100.0 * count / max(1, total)
        print(f"  {label:<24s}{count:>7d}  {share:5.1f}%")
    smallest = min(counts.values()) if counts else 0
    if smallest and max(counts.values()) / smallest > 10:
        print("warning: classes are strongly imbalanced; consider class weights")
    return total


def save_report(path, **values):
    lines = [f"{key}: {value}" for key, value in sorted(values.items())]
    with open(path, "w") as handle:
        handle.write("\\n".join(lines) + "\\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Fine-tune a pretrained CNN")
    parser.add_argument("--data", default=DATA_DIR)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--fine-tune-epochs", type=int, default=FINE_TUNE_EPOCHS)
    parser.add_argument("--lr", type=float, default=LEARNING_RATE)
    parser.add_argument("--output", default="model.keras")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)
'''

CALLBACKS = """
def make_callbacks(name):
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=2, min_lr=1e-7),
        keras.callbacks.ModelCheckpoint(f"checkpoints/{name}.keras", save_best_only=True),
        keras.callbacks.CSVLogger(f"logs/{name}.csv"),
    ]
"""

EVALUATE = '''

def evaluate(model, dataset, class_names):
    """Confusion matrix and per-class accuracy on a dataset."""
    y_true, y_pred = [], []
    for images, labels in dataset:
        probabilities = model.predict(images, verbose=0)
        y_true.extend(labels.numpy().tolist())
        y_pred.extend(np.argmax(probabilities, axis=1).tolist())
    matrix = np.zeros((len(class_names), len(class_names)), dtype=int)
    for truth, guess in zip(y_true, y_pred):
        matrix[truth, guess] += 1
    for index, name in enumerate(class_names):
        row = matrix[index]
        accuracy = row[index] / max(1, row.sum())
        print(f"{name:>20s}: {accuracy:.3f} ({row.sum()} images)")
    overall = np.trace(matrix) / max(1, matrix.sum())
    print(f"overall accuracy: {overall:.4f}")
    return matrix
'''


def data_block(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return """
train_ds = keras.utils.image_dataset_from_directory(
    os.path.join(DATA_DIR, "train"), image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, seed=SEED
)
val_ds = keras.utils.image_dataset_from_directory(
    os.path.join(DATA_DIR, "val"), image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, seed=SEED
)
class_names = train_ds.class_names
train_ds = train_ds.cache().shuffle(1000).prefetch(2)
val_ds = val_ds.cache().prefetch(2)
"""
    if style == 1:
        return """
datagen = keras.preprocessing.image.ImageDataGenerator(
    rescale=1.0 / 255, rotation_range=20, width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True
)
train_ds = datagen.flow_from_directory(
    os.path.join(DATA_DIR, "train"), target_size=IMAGE_SIZE, batch_size=BATCH_SIZE, class_mode="sparse"
)
val_ds = datagen.flow_from_directory(
    os.path.join(DATA_DIR, "val"), target_size=IMAGE_SIZE, batch_size=BATCH_SIZE, class_mode="sparse"
)
class_names = sorted(train_ds.class_indices)
"""
    return """
x_all = np.random.rand(N_SAMPLES, IMAGE_SIZE[0], IMAGE_SIZE[1], 3).astype("float32")
y_all = np.random.randint(0, NUM_CLASSES, size=(N_SAMPLES,))
split = int(0.8 * N_SAMPLES)
x_train, y_train = x_all[:split], y_all[:split]
x_val, y_val = x_all[split:], y_all[split:]
train_ds = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(512).batch(BATCH_SIZE)
val_ds = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(BATCH_SIZE)
class_names = [str(i) for i in range(NUM_CLASSES)]
"""


def model_block(rng: random.Random, base: str) -> str:
    wiring = rng.randrange(3)
    guard = rng.choice(["training=False", ""])
    head = """    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(DROPOUT)(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
"""
    build = f"""
def build_model():
    base = keras.applications.{base}(include_top=False, weights="imagenet", input_shape=IMAGE_SIZE + (3,))
    base.trainable = False
"""
    if wiring == 0:
        build += f"""    inputs = keras.Input(IMAGE_SIZE + (3,))
    x = augmentation(inputs)
    x = base(x{", " + guard if guard else ""})
{head}    return keras.Model(inputs, outputs, name="classifier"), base
"""
    elif wiring == 1:
        build += f"""    x = base.output
{head}    return keras.Model(base.input, outputs, name="classifier"), base
"""
    else:
        build += """    model = keras.Sequential(
        [keras.Input(IMAGE_SIZE + (3,)), base, layers.GlobalAveragePooling2D(), layers.Dense(NUM_CLASSES)]
    )
    return model, base
"""
    return build


def finetune_block(rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return """    base.trainable = True
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
"""
    if style == 1:
        return """    base.trainable = True
    for layer in base.layers[:FINE_TUNE_AT]:
        layer.trainable = False
"""
    if style == 2:
        return """    for layer in model.layers[-UNFREEZE:]:
        if not isinstance(layer, layers.BatchNormalization):
            layer.trainable = True
"""
    return """    base.trainable = True
"""


def script(rng: random.Random) -> str:
    imports, _ = rng.choice(FLAVOURS)
    base = rng.choice(BASES)
    parts = [
        f'"""Fine-tune {base} on a custom image dataset (generated for the bnlint benchmark)."""\n\n',
        "import argparse\nimport math\nimport os\nimport random\nimport time\n\nimport numpy as np\n",
        "import tensorflow as tf\n" if "tensorflow as tf" not in imports else "",
        imports,
        f"""
DATA_DIR = "datasets/run_{rng.randrange(10**6)}"
IMAGE_SIZE = ({rng.choice([160, 192, 224])}, {rng.choice([160, 192, 224])})
BATCH_SIZE = {rng.choice([4, 8, 16, 32, 64])}
NUM_CLASSES = {rng.randrange(2, 40)}
N_SAMPLES = {rng.choice([500, 2000, 8000, 20000])}
EPOCHS = {rng.randrange(3, 30)}
FINE_TUNE_EPOCHS = {rng.randrange(2, 20)}
FINE_TUNE_AT = {rng.randrange(20, 150)}
UNFREEZE = {rng.randrange(5, 60)}
LEARNING_RATE = {rng.choice(["1e-3", "3e-4", "1e-4"])}
DROPOUT = 0.{rng.randrange(1, 6)}
PATIENCE = {rng.randrange(2, 8)}
SEED = {rng.randrange(1000)}
""",
        HELPERS,
        CALLBACKS,
        data_block(rng),
        """
augmentation = keras.Sequential(
    [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.1)], name="augmentation"
)
""",
        model_block(rng, base),
        EVALUATE,
        """

def train(args):
    model, base = build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    with Timer("head"):
        history = model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, callbacks=make_callbacks("head"))
    plot_history(history, "head")
""",
        finetune_block(rng),
        """    model.compile(
        optimizer=keras.optimizers.Adam(args.lr / 100),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    with Timer("fine-tune"):
        history = model.fit(
            train_ds, validation_data=val_ds, epochs=args.fine_tune_epochs, callbacks=make_callbacks("finetune")
        )
    plot_history(history, "fine-tune", "finetune.png")
    evaluate(model, val_ds, class_names)
    model.save(args.output)
    return model


if __name__ == "__main__":
    train(parse_args())
""",
    ]
    return "".join(parts)


def corpus(folder: str, count: int, seed: int) -> tuple[list[str], int]:
    rng = random.Random(seed)
    paths, lines = [], 0
    for index in range(count):
        text = script(rng)
        path = os.path.join(folder, f"train_{index:04d}.py")
        with open(path, "w") as handle:
            handle.write(text)
        paths.append(path)
        lines += text.count("\n")
    return paths, lines


def time_parse(paths: list[str]) -> float:
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as handle:
            ast.parse(handle.read().decode("utf-8"), filename=path)
    return time.perf_counter() - start


def time_bnlint(folder: str) -> tuple[float, int, int]:
    from bnlint.linting import Options, lint_paths

    start = time.perf_counter()
    results = lint_paths([folder], Options())
    elapsed = time.perf_counter() - start
    errors = sum(1 for r in results if r.error)
    return elapsed, sum(len(r.diagnostics) for r in results), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bnlint-bench-") as folder:
        paths, lines = corpus(folder, args.files, args.seed)
        time_bnlint(folder)  # warm-up: imports, the applications table
        parse_times, lint_times = [], []
        findings = errors = 0
        for _ in range(args.runs):
            parse_times.append(time_parse(paths))
            elapsed, findings, errors = time_bnlint(folder)
            lint_times.append(elapsed)
    parse, lint = statistics.median(parse_times), statistics.median(lint_times)
    ratio = lint / parse
    print(f"corpus: {len(paths)} scripts, {lines} lines ({lines / len(paths):.0f} per script)")
    print(f"ast.parse (read + parse): {parse:.3f} s  ({lines / parse:,.0f} lines/s)")
    print(f"bnlint (everything):      {lint:.3f} s  ({lines / lint:,.0f} lines/s, {len(paths) / lint:,.0f} files/s)")
    print(f"ratio bnlint / ast.parse: {ratio:.2f}x (target <= {TARGET_RATIO:g}x); medians of {args.runs} runs")
    print(f"findings: {findings}; files with errors: {errors}")
    return 0 if ratio <= TARGET_RATIO and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
