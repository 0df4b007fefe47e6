"""The DATA of `bnlint probe` and `bnlint recalibrate`: a folder of images, a `.npy`
array (N, H, W, C) or a `.npz` (array `x`, else the first), read as float32 batches
with the keras.applications preprocessing conventions. A model whose input is not an
image (BN on tabular features, sequences) takes an array of its own sample shape, as is.

Everything that can be checked without TensorFlow is checked when the data is opened
(the path, the rank, NaN/Inf, image headers, the fit with the model's input), so bad
data fails in a fraction of a second; images are decoded with tensorflow.io while the
batches stream, which needs no new dependency.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import InputError

PREPROCESSING = ("none", "caffe", "tf", "torch")
# keras.utils.image_dataset_from_directory's formats, with the bytes each one starts with.
IMAGE_MAGIC = {
    ".bmp": (b"BM",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".jpeg": (b"\xff\xd8\xff",),
    ".jpg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)
TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)
FINITE_CHECK_ROWS = 256  # rows per chunk when a memory-mapped array is scanned for NaN/Inf
SUBSET_SEED = 0


class DataError(InputError):
    """Bad data: `path` is the file to name in the error line (the data, or one image in it)."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


@dataclass
class Data:
    """Opened DATA: which samples will be read, and their size when the data fixes it."""

    path: str
    images: list[str] | None  # image files, or None for an array
    array: np.ndarray | None
    indices: np.ndarray  # the samples read (all, or a fixed random subset for --max-samples)

    @property
    def count(self) -> int:
        return int(self.indices.size)

    @property
    def size(self) -> tuple[int, int] | None:
        """An image array's own height and width (images are resized to the model's)."""
        return (
            None if self.array is None or self.array.ndim != 4 else (int(self.array.shape[1]), int(self.array.shape[2]))
        )

    @property
    def channels(self) -> int | None:
        return None if self.array is None or self.array.ndim != 4 else int(self.array.shape[3])


@dataclass(frozen=True)
class Feed:
    """How samples reach the model: size, channels and preprocessing."""

    height: int
    width: int
    channels: int
    preprocess: str = "none"
    sample_shape: tuple[int, ...] | None = None  # a non-image model's samples, fed as they are


def open_data(path: str, max_samples: int | None = None) -> Data:
    if not os.path.exists(path):
        raise DataError(path, "no such file or directory")
    if os.path.isdir(path):
        files = _image_files(path)
        return Data(path, files, None, _subset(len(files), max_samples))
    array = _load_array(path)
    return Data(path, None, array, _subset(len(array), max_samples))


def _subset(count: int, max_samples: int | None) -> np.ndarray:
    """All samples, or a fixed random subset: images come sorted by class folder, and the
    first N would often be one class only."""
    if max_samples is None or max_samples >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(SUBSET_SEED).choice(count, max_samples, replace=False))


def _image_files(folder: str) -> list[str]:
    """Image files below `folder` (flat, or in class sub-folders), sorted; each must start
    like the format its name says, so a file that is no image fails before any work."""
    found = []
    for top, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            suffix = os.path.splitext(name)[1].lower()
            if suffix in IMAGE_MAGIC and not name.startswith("."):
                found.append(os.path.join(top, name))
    if not found:
        raise DataError(folder, f"no images ({', '.join(sorted(IMAGE_MAGIC))}) in this folder or its sub-folders")
    for image in found:
        try:
            with open(image, "rb") as handle:
                head = handle.read(8)
        except OSError as exc:
            raise DataError(image, f"cannot read ({exc.strerror or exc})") from None
        if not head.startswith(IMAGE_MAGIC[os.path.splitext(image)[1].lower()]):
            raise DataError(image, f"not a {os.path.splitext(image)[1].lower()[1:].upper()} image")
    return found


def _load_array(path: str) -> np.ndarray:
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".npy", ".npz"):
        raise DataError(path, "DATA must be a folder of images, a .npy array or a .npz archive")
    try:
        if suffix == ".npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)  # never unpickle: data is untrusted too
        else:
            with np.load(path, allow_pickle=False) as archive:
                if not archive.files:
                    raise DataError(path, "the .npz archive holds no array")
                array = archive["x" if "x" in archive.files else archive.files[0]]
    except DataError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(path, f"not a readable NumPy file ({' '.join(str(exc).split())})") from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise DataError(path, f"holds {array.dtype} values, not real numbers")
    if array.ndim < 2:
        raise DataError(path, f"the array has shape {tuple(array.shape)}: it must be (samples, ...)")
    if len(array) == 0:
        raise DataError(path, "the array holds no samples")
    for start in range(0, len(array), FINITE_CHECK_ROWS):
        chunk = np.asarray(array[start : start + FINITE_CHECK_ROWS])
        if np.issubdtype(chunk.dtype, np.floating) and not np.isfinite(chunk).all():
            row = start + int(np.argwhere(~np.isfinite(chunk))[0][0])
            raise DataError(path, f"sample {row} holds NaN or Inf")
    return array


def feed_for(
    data: Data, input_shape: tuple | None, image_size: tuple[int, int] | None, preprocess: str, where: str
) -> Feed:
    """How the data fits a model whose input is `input_shape` (batch, height, width,
    channels; None where the model takes any size). `where` names the model in errors."""
    if input_shape is None:
        raise DataError(where, "the model's input shape is unknown: probe cannot feed it")
    if len(input_shape) != 4:
        return _features(data, tuple(input_shape), image_size, preprocess, where)
    if data.array is not None and data.array.ndim != 4:
        raise DataError(
            data.path, f"the array has shape {tuple(data.array.shape)}: images are (samples, height, width, channels)"
        )
    _, height, width, channels = (None if not isinstance(d, int) else d for d in input_shape)
    if channels is None:
        raise DataError(where, "the model does not say how many channels its input has")
    if image_size is None:
        size = (height, width) if height and width else data.size
        if size is None:
            raise DataError(where, "the model takes images of any size: pass --image-size H W")
    else:
        size = tuple(image_size)
        if (height and height != size[0]) or (width and width != size[1]):
            raise DataError(
                data.path, f"images of {size[0]}x{size[1]} do not fit the model, which takes {height}x{width}"
            )
    if data.channels is not None and data.channels != channels:
        plural = "s" * (data.channels != 1)
        raise DataError(data.path, f"the array has {data.channels} channel{plural}; the model takes {channels}")
    if data.images is not None and channels not in (1, 3, 4):
        raise DataError(data.path, f"images have 1, 3 or 4 channels; the model takes {channels}")
    if preprocess in ("caffe", "torch") and channels != 3:
        raise DataError(data.path, f"--preprocess {preprocess} is for RGB images; the model takes {channels} channels")
    return Feed(int(size[0]), int(size[1]), channels, preprocess)


def _features(data: Data, input_shape: tuple, image_size: tuple | None, preprocess: str, where: str) -> Feed:
    """A model that does not take images (BN on tabular features, on sequences): an array of
    its sample shape (None in the model's shape: any size), fed as it is."""
    wanted = tuple(None if not isinstance(d, int) else d for d in input_shape[1:])
    if data.array is None:
        raise DataError(data.path, f"the model takes samples of shape {wanted}, not images: pass a .npy or .npz array")
    if image_size is not None or preprocess != "none":
        raise DataError(
            where, f"the model takes samples of shape {wanted}: --image-size and --preprocess are for images"
        )
    found = tuple(data.array.shape[1:])
    if len(found) != len(wanted) or any(w is not None and w != f for w, f in zip(wanted, found, strict=True)):
        raise DataError(data.path, f"the array's samples have shape {found}; the model takes {wanted}")
    return Feed(0, 0, 0, sample_shape=found)


def batches(data: Data, feed: Feed, batch_size: int) -> Iterator[np.ndarray]:
    """The samples as float32 batches (batch, height, width, channels), preprocessed; a
    non-image model's samples as they are."""
    for start in range(0, data.count, batch_size):
        chosen = data.indices[start : start + batch_size]
        if feed.sample_shape is not None:
            yield np.asarray(data.array[chosen], dtype=np.float32)
            continue
        if data.array is not None:
            batch = np.asarray(data.array[chosen], dtype=np.float32)
        else:
            batch = np.stack([_decode(data.images[i], feed) for i in chosen])
        yield preprocess(_resized(batch, feed), feed.preprocess)


def _decode(image: str, feed: Feed) -> np.ndarray:
    import tensorflow as tf

    try:
        with open(image, "rb") as handle:
            raw = handle.read()
        decoded = tf.io.decode_image(raw, channels=feed.channels, expand_animations=False)
    except OSError as exc:
        raise DataError(image, f"cannot read ({exc.strerror or exc})") from None
    except (tf.errors.OpError, ValueError) as exc:
        message = " ".join(str(getattr(exc, "message", exc)).split())
        raise DataError(image, f"cannot decode the image ({message})") from None
    return _resized(decoded.numpy()[None].astype(np.float32), feed)[0]


def _resized(batch: np.ndarray, feed: Feed) -> np.ndarray:
    """Bilinear, as keras' image_dataset_from_directory resizes by default."""
    if batch.shape[1:3] == (feed.height, feed.width):
        return batch
    import tensorflow as tf

    return tf.image.resize(batch, (feed.height, feed.width), method="bilinear").numpy().astype(np.float32)


def preprocess(batch: np.ndarray, mode: str) -> np.ndarray:
    """keras.applications' `preprocess_input` modes, on RGB pixel values 0-255."""
    if mode == "caffe":  # VGG, ResNet(v1): BGR, ImageNet means subtracted, no scaling
        return batch[..., ::-1] - CAFFE_MEAN_BGR
    if mode == "tf":  # MobileNet, Inception, Xception, ResNetV2: [-1, 1]
        return batch / np.float32(127.5) - np.float32(1.0)
    if mode == "torch":  # DenseNet: [0, 1], then ImageNet mean and std per channel
        return (batch / np.float32(255.0) - TORCH_MEAN) / TORCH_STD
    return batch
