"""Source text to lint: a .py file as it is, or a notebook's code cells joined.

A Source knows how to map a line of the joined text back to a notebook cell, so that
findings point to `cell N:line` for notebooks and to plain lines for scripts.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from ..errors import InputError
from ..limits import MIB, current


@dataclass(frozen=True)
class Source:
    text: str
    # For notebooks: (first line of the cell in `text`, 1-based cell number), sorted.
    cells: tuple[tuple[int, int], ...] = ()
    lines: tuple[str, ...] = field(default=(), repr=False)

    def locate(self, line: int) -> tuple[int | None, int]:
        """(cell number or None, line within the cell) for a line of `text`."""
        if not self.cells:
            return None, line
        index = bisect.bisect_right([start for start, _ in self.cells], line) - 1
        start, number = self.cells[max(index, 0)]
        return number, line - start + 1

    def blank_cell(self, line: int) -> Source | None:
        """The same source with the cell holding `line` replaced by `pass` lines."""
        starts = [start for start, _ in self.cells]
        index = bisect.bisect_right(starts, line) - 1
        if index < 0:
            return None
        lines = self.text.split("\n")
        first = starts[index] - 1
        last = starts[index + 1] - 1 if index + 1 < len(starts) else len(lines) - 1
        if all(text == "pass" for text in lines[first:last]):
            return None
        lines[first:last] = ["pass"] * (last - first)
        return Source("\n".join(lines), self.cells)


def decode(data: bytes) -> str:
    """Python source bytes as text; a binary file is an InputError, not a crash."""
    if b"\x00" in data[:8192]:
        raise InputError("binary file, not Python source")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            import io
            import tokenize

            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            text = data.decode(encoding)
        except (SyntaxError, UnicodeDecodeError, LookupError):
            raise InputError("not UTF-8 text (and no valid coding declaration): not Python source") from None
    return text


def read_script(path: str) -> Source:
    limit = current().max_script_mib * MIB
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"script is larger than {limit // MIB} MiB (limit max-script-mib)")
    return Source(decode(data))
