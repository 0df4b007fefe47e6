"""What bnlint knows about the APIs scripts call, kept as data apart from the
interpreter (as astroid keeps its "brain" modules apart from its inference engine).

Each table maps an API spelling (an exact dotted path after the Keras root has been
canonicalised, or a pattern over such paths) to what the call builds. The interpreter
asks `builder(path)` and dispatches on the kind it returns.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Names that notebook fragments use without importing them, and the module each
# conventionally is. Used only for names the script never binds; the context line says so.
CONVENTIONAL = {
    "tf": "tensorflow",
    "keras": "keras",
    "layers": "keras.layers",
    "models": "keras.models",
    "applications": "keras.applications",
    "K": "keras.backend",
    "np": "numpy",
    "hub": "tensorflow_hub",
    "sm": "segmentation_models",
    "efn": "efficientnet.tfkeras",
}

# Submodules that `from tensorflow.keras import *` binds.
KERAS_SUBMODULES = {"layers", "models", "applications", "optimizers", "callbacks", "utils", "preprocessing", "backend"}

# Dotted paths (Keras root spelled "keras") -> the kind of thing the call builds.
# Patterns are tried in order; the first group, when present, is the constructor name.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # keras.applications.ResNet50, keras.applications.resnet50.ResNet50 (submodules of
    # every release line), keras_applications of Keras 2.2, efficientnet's packages.
    (re.compile(r"^keras\.applications(?:\.\w+)*\.([A-Z]\w*)$"), "application"),
    (re.compile(r"^keras_applications(?:\.\w+)*\.([A-Z]\w*)$"), "application"),
    (re.compile(r"^efficientnet\.(?:keras|tfkeras|model)\.(EfficientNetB\d)$"), "application"),
    (re.compile(r"^segmentation_models\.(Unet|FPN|Linknet|PSPNet)$"), "segmentation"),
    (re.compile(r"^keras_(?:cv|hub|nlp)\.models\.(\w+)\.from_preset$"), "preset"),
    (re.compile(r"^keras(?:\.models|\.engine(?:\.training|\.functional)?)?\.(Model|Functional)$"), "functional"),
    (re.compile(r"^keras(?:\.models|\.engine(?:\.sequential)?)?\.Sequential$"), "sequential"),
    (re.compile(r"^keras\.models\.load_model$|^keras\.saving\.load_model$"), "load_model"),
    (re.compile(r"^keras(?:\.layers)?(?:\.\w+)*\.(\w*BatchNormalization\w*)$"), "bn"),
    (re.compile(r"^keras(?:\.layers)?\.(Input|InputLayer)$"), "input"),
    (re.compile(r"^keras\.(?:utils|preprocessing)\.(?:image_dataset|text_dataset)_from_directory$"), "loader"),
    (re.compile(r"^keras\.(?:preprocessing\.image|utils)\.ImageDataGenerator$"), "datagen"),
    (re.compile(r"^keras\.layers(?:\.\w+)*\.([A-Z]\w*)$"), "layer"),
    (re.compile(r"^argparse\.ArgumentParser$"), "argparser"),
    (re.compile(r"^(?:absl\.flags|tensorflow(?:\.compat\.v1)?\.(?:app\.)?flags)\.DEFINE_(\w+)$"), "absl_define"),
]

# Libraries whose objects are never Keras models: their `.fit()` is not a training run
# bnlint failed to follow (no note), and nothing they return holds a Keras model.
FOREIGN_LIBRARIES = {
    "sklearn",
    "xgboost",
    "lightgbm",
    "catboost",
    "pandas",
    "scipy",
    "statsmodels",
    "torch",
    "torchvision",
    "joblib",
    "cv2",
    "PIL",
    "matplotlib",
    "seaborn",
    "gensim",
    "imblearn",
    "umap",
}

# Widgets of UI toolkits a training app reads its settings from, and where each keeps the
# value it starts with: ("options", index-of-options-arg, index keyword) picks from a list,
# ("value", position, keyword) is given directly. As with argparse, bnlint follows the defaults.
UI_WIDGETS = {
    "streamlit.selectbox": ("options", 1, "index"),
    "streamlit.radio": ("options", 1, "index"),
    "streamlit.select_slider": ("value", 2, "value"),
    "streamlit.slider": ("value", 3, "value"),
    "streamlit.number_input": ("value", 3, "value"),
    "streamlit.checkbox": ("value", 1, "value"),
    "streamlit.toggle": ("value", 1, "value"),
}

# Libraries whose calls the table above describes: a copy of one inside the linted
# repository (its own examples) is not followed as a local module.
KNOWN_LIBRARIES = {
    "keras",
    "tensorflow",
    "tf_keras",
    "keras_applications",
    "efficientnet",
    "segmentation_models",
    "classification_models",
    "keras_cv",
    "keras_hub",
    "keras_nlp",
    "tensorflow_hub",
}

# Backbones of segmentation_models without BN layers.
NO_BN_BACKBONES = ("vgg16", "vgg19")
# keras_hub / keras_cv model classes whose backbones have BN layers.
BN_PRESET_FAMILIES = (
    "ResNet",
    "EfficientNet",
    "MobileNet",
    "CSPDarkNet",
    "DenseNet",
    "YOLO",
    "RetinaNet",
    "DeepLab",
    "Xception",
    "Inception",
)

# Parameters of a local data function (a generator, a Sequence) that set its batch size.
BATCH_PARAMS = ("batch_size", "batchsize", "batch", "bs", "BATCH_SIZE")

# String methods whose results a loop over layer names may test.
STR_METHODS = {
    "startswith",
    "endswith",
    "lower",
    "upper",
    "split",
    "rsplit",
    "strip",
    "replace",
    "find",
    "count",
    "format",
    "join",
    "isdigit",
}

# IPython automagics and default aliases: a line that starts with one of these names and
# does not parse as Python is a shell command or a magic, not code.
AUTOMAGICS = (
    "pip conda cd ls mkdir rmdir cp mv rm cat pwd ldir less man clear alias unalias env "
    "load_ext matplotlib run load history pylab pdb sx sc system bookmark dhist dirs popd pushd "
    "tb xdel xmode config lsmagic magic who whos reset time timeit prun wget unzip"
).split()
# Line magics whose argument is a Python statement that still runs.
STATEMENT_MAGICS = ("time", "timeit", "prun", "capture")


@lru_cache(maxsize=4096)
def builder(path: str) -> tuple[str, str] | None:
    """(kind, name) for a dotted path the table knows; None otherwise."""
    for pattern, kind in PATTERNS:
        match = pattern.match(path)
        if match:
            return kind, match[1] if match.groups() else path.rsplit(".", 1)[-1]
    return None
