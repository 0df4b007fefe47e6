"""Writer for `.keras` archives (Keras 3 and tf_keras): the archive is spliced with a new
`config.json` (and a new `model.weights.h5` only for weight edits); every other byte is
copied as it is (zipsplice.py)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import zipfile

import h5py
import numpy as np

from ..diagnostics import Edit
from ..edits import Document, Rules, Unsupported
from ..errors import InputError
from ..graph import Generation, Layer, generation_of
from ..readers.h5_common import internal, open_h5
from ..readers.keras_config import build_root
from ..readers.keras_zip import CONFIG, METADATA, WEIGHTS, open_member
from ..readers.weights_h5 import vars_groups
from .atomic import temp_name
from .model_file import ModelFile
from .variables import variables
from .weight_ops import VariableStore, layout_changed
from .zipsplice import splice


class KerasZipFile(ModelFile):
    def __init__(self, path: str):
        super().__init__(path)
        try:
            with zipfile.ZipFile(path) as archive:
                raw = archive.read(CONFIG)
                names = set(archive.namelist())
                metadata = json.loads(archive.read(METADATA)) if METADATA in names else {}
            self.original = json.loads(raw)  # parsed twice: faster than a deep copy, and one stays pristine
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise InputError(f"not a readable .keras archive ({exc})") from None
        self.has_weights = WEIGHTS in names
        self.keras_version = metadata.get("keras_version") if isinstance(metadata, dict) else None
        self.rules = Rules(keras3=generation_of(self.keras_version) is Generation.KERAS3)
        self.before = build_root(self.original)  # the graph as stored, built once
        self.documents = [Document(json.loads(raw), self.before.path)]

    def write(self, temp: str, weight_edits: list[Edit]) -> None:
        replacements: dict[str, bytes | str] = {CONFIG: json.dumps(self.documents[0].entry).encode()}
        before, after = self.before, build_root(self.documents[0].entry)
        scratch = None
        try:
            if weight_edits or layout_changed(before, after):
                if not self.has_weights:
                    raise InputError("the archive holds no model.weights.h5 to edit")
                scratch = self._edited_weights(
                    weight_edits,
                    before,
                    after,
                    temp_name(os.path.join(os.path.dirname(temp), os.path.basename(self.path)), ".weights.h5"),
                )
                replacements[WEIGHTS] = scratch
            with open(self.path, "rb") as src, open(temp, "wb") as out:
                splice(src, out, replacements)
        finally:
            if scratch is not None:
                os.unlink(scratch)

    def _edited_weights(self, weight_edits: list[Edit], before: Layer, after: Layer, scratch: str) -> str:
        """A scratch copy of model.weights.h5 (beside the output) with the weight edits made."""
        try:
            with zipfile.ZipFile(self.path) as archive, open_member(self.path, archive, WEIGHTS) as member:
                with open(scratch, "wb") as out:
                    shutil.copyfileobj(member, out, 1 << 20)
            with open_h5(scratch, "r+") as h5:
                KerasV3Store(h5, before, after).apply(weight_edits)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(scratch)
            raise
        return scratch


class KerasV3Store(VariableStore):
    """Variables in model.weights.h5: `<layer group>/vars/<i>`, i in creation order."""

    def __init__(self, h5: h5py.File, before: Layer, after: Layer):
        super().__init__(before, after)
        self.h5 = h5
        self.groups = vars_groups(before)

    def _vars(self, layer: Layer) -> h5py.Group:
        path = self.groups.get(id(layer))
        group = self.h5.get(f"{path}/vars") if path else None
        if not isinstance(group, h5py.Group):
            raise Unsupported(f"no weights for '{layer.path}' in model.weights.h5")
        return group

    def _index(self, layer: Layer, var: str) -> str:
        names = variables(layer)
        if var not in names or len(self._vars(layer)) < len(names):
            raise Unsupported(f"'{layer.path}' has no variable '{var}' in model.weights.h5")
        return str(names.index(var))

    def read(self, layer: Layer, var: str) -> np.ndarray:
        return internal(self._vars(layer)[self._index(layer, var)])[()]

    def write(self, layer: Layer, var: str, value: np.ndarray) -> None:
        internal(self._vars(layer)[self._index(layer, var)])[...] = value

    def add(self, layer: Layer, var: str, value: np.ndarray) -> None:
        group = self._vars(layer)
        wanted = variables(self.layer(self.after, layer.path))
        if len(group) >= len(wanted) or wanted[len(group)] != var:
            raise Unsupported(f"'{layer.path}': '{var}' is not its next variable under the fixed config")
        group.create_dataset(str(len(group)), data=value)

    def delete(self, layer: Layer, var: str) -> None:
        group, index = self._vars(layer), self._index(layer, var)
        if int(index) != len(group) - 1:
            raise Unsupported(f"only the last variable of '{layer.path}' can be removed")
        del group[index]

    def count(self, layer: Layer) -> int:
        return len(self._vars(layer))
