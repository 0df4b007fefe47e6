"""Script fixes carried into a notebook: the edits are planned on the joined code cells (the
text bnlint lints), mapped back to the cells they fall in, and only those cells' `source`
changes. The rest of the file stays byte for byte: the notebook is written back in the JSON
layout it was read in (indentation, key order, `ensure_ascii`, final newline), and a notebook
whose layout cannot be reproduced exactly is not rewritten.
"""

from __future__ import annotations

import bisect
import difflib
import json
from dataclasses import dataclass
from typing import Any

from .scripts.notebook import notebook_source
from .source_fixes import LINE, NotApplicable, Span


@dataclass
class Notebook:
    raw: str  # the file's text (after any byte-order mark)
    document: dict[str, Any]  # with outputs: everything is written back
    layout: dict[str, Any]  # json.dumps arguments (and the line ending) that reproduce `raw`
    final_newline: str
    joined: str  # the code cells as one Python text (what the edits are planned on)
    cells: tuple[tuple[int, int], ...]  # (first line in `joined`, 1-based cell number)


def load(raw: str) -> Notebook:
    document = json.loads(raw)
    final_newline = raw[len(raw.rstrip("\r\n")) :]
    for layout in _layouts("\r\n" in raw):
        if dump(document, layout) + final_newline == raw:
            source = notebook_source(raw.encode("utf-8"))
            return Notebook(raw, document, layout, final_newline, source.text, source.cells)
    raise NotApplicable("the notebook's JSON layout cannot be written back exactly; fix it by hand")


def _layouts(crlf: bool):
    """The layouts notebook writers use: nbformat (indent 1), VS Code and others (indent 2 or 4),
    Colab (compact, no spaces), raw or escaped non-ASCII, \n or \r\n."""
    for newline in ("\r\n", "\n") if crlf else ("\n",):
        for indent in (1, 2, 4, 3, None):
            for separators in ((",", ": "),) if indent else ((",", ":"), (", ", ": ")):
                for ensure_ascii in (False, True):
                    yield {"indent": indent, "separators": separators, "ensure_ascii": ensure_ascii, "newline": newline}


def dump(document: dict, layout: dict) -> str:
    text = json.dumps(document, **{k: v for k, v in layout.items() if k != "newline"})
    return (
        text.replace("\n", layout["newline"]) if layout["newline"] != "\n" else text
    )  # (no raw newline in JSON strings)


def rewrite(notebook: Notebook, spans: list[Span]) -> tuple[str, str]:
    """(the notebook's new text, a unified diff of the edited cells labelled `cell N`)."""
    lines = LINE.findall(notebook.joined)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    per_cell: dict[int, list[tuple[int, int | None, str]]] = {}  # cell -> (line, column or None, text)
    for span in spans:
        if span.start != span.end:
            raise NotApplicable("only insertions are carried into notebook cells")
        at_line_start = span.start in starts[1:]
        line = bisect.bisect_right(starts, span.start - 1 if at_line_start else span.start)  # 1-based
        cell, in_cell = _locate(notebook, line)
        cell_lines = _cell_text(notebook, cell).splitlines()
        if in_cell > len(cell_lines) or cell_lines[in_cell - 1] != lines[line - 1].rstrip("\n"):
            raise NotApplicable(f"cell {cell} has IPython syntax or a leading indent on the line to fix")
        column = None if at_line_start else span.start - starts[line - 1]
        per_cell.setdefault(cell, []).append((in_cell, column, span.text))
    diff, kept = [], {}
    for cell, edits in sorted(per_cell.items()):
        old = _cell_text(notebook, cell)
        new = _edit_cell(old, edits)
        entry = notebook.document["cells"][cell - 1]
        kept[cell] = entry["source"]
        entry["source"] = new.splitlines(keepends=True) if isinstance(entry["source"], list) else new
        diff += difflib.unified_diff(
            old.splitlines(True), new.splitlines(True), f"cell {cell}", f"cell {cell}", lineterm="\n"
        )
        if diff and not diff[-1].endswith("\n"):
            diff[-1] += "\n\\ No newline at end of cell\n"
    text = dump(notebook.document, notebook.layout) + notebook.final_newline
    for cell, source in kept.items():  # the document stays as read: rewrite may be called again
        notebook.document["cells"][cell - 1]["source"] = source
    return text, "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def _locate(notebook: Notebook, line: int) -> tuple[int, int]:
    index = bisect.bisect_right([start for start, _ in notebook.cells], line) - 1
    start, number = notebook.cells[max(index, 0)]
    return number, line - start + 1


def _cell_text(notebook: Notebook, cell: int) -> str:
    source = notebook.document["cells"][cell - 1].get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _edit_cell(text: str, edits: list[tuple[int, int | None, str]]) -> str:
    """Insertions into one cell's text: a whole line after line N (column None), or text at a
    column of line N; the last line of a cell usually has no newline of its own."""
    lines = text.splitlines(keepends=True)
    for number, column, insert in sorted(edits, key=lambda e: (e[0], e[1] or 0), reverse=True):
        line = lines[number - 1]
        if column is None:
            if not line.endswith(("\n", "\r")):
                lines[number - 1] = line + "\n"
                insert = insert.rstrip("\n")
            lines.insert(number, insert)
        else:
            lines[number - 1] = line[:column] + insert + line[column:]
    return "".join(lines)
