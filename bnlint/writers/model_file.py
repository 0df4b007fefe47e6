"""A model file opened for fixing: its config documents, and how to write it back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from ..diagnostics import Edit
from ..edits import Document, Rules
from .atomic import Snapshot, replacing_dir, replacing_file


class ModelFile(ABC):
    is_dir = False

    def __init__(self, path: str):
        self.path = path
        self.snapshot = Snapshot.of(path)  # taken before reading: a later change aborts the write
        self.documents: list[Document] = []
        self.rules = Rules(keras3=True)

    def check_weight_edit(self, edit: Edit) -> None:
        """Raise Unsupported when this format cannot apply the weight edit."""
        from .weight_ops import check

        check(edit)

    @abstractmethod
    def write(self, temp: str, weight_edits: list[Edit]) -> None:
        """Write the edited model to `temp` (a new file, or an empty directory)."""

    def save(
        self,
        output: str,
        weight_edits: list[Edit],
        backup: str | None = None,
        check: Callable[[str], None] | None = None,
    ) -> None:
        """Write atomically to `output` (which may be the source itself). `check` sees the
        finished temporary copy first; if it raises, nothing is replaced."""
        replacing = replacing_dir if self.is_dir else replacing_file
        with replacing(output, source=self.path, snapshot=self.snapshot, backup=backup) as temp:
            self.write(temp, weight_edits)
            if check is not None:
                check(temp)
