"""Opening the files of a SavedModel directory: only regular files inside the directory
the user named. A symlink out of it (to /etc/shadow, /dev/zero) or a FIFO is refused:
bnlint reads nothing outside what it was given, and never blocks on a pipe."""

from __future__ import annotations

import os
from typing import BinaryIO

from ..errors import InputError


def open_inside(root: str, path: str) -> BinaryIO:
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    shown = os.path.relpath(path, root)
    if os.path.commonpath([real_root, real]) != real_root:
        raise InputError(f"{shown} links outside the SavedModel directory: not read")
    if not os.path.isfile(real):
        raise InputError(f"{shown} is not a regular file")
    return open(real, "rb")
