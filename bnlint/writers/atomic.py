"""Replace a file or a directory atomically: the final name always holds either the
complete old version or the complete new one, never a partial write.

Files: write a temporary file in the same directory, fsync it, os.replace() it over the
target, fsync the directory. Directories (SavedModel): build a sibling temporary
directory, then exchange the two names with one renameat2(RENAME_EXCHANGE) call (Linux);
where that is unavailable, two renames, the old directory kept until the second is done.
Temporary names start with "." and contain ".bnlint-", so a killed run leaves at most a
hidden leftover, never a partial file under the final name.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import InputError

TEMP_MARK = ".bnlint-"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class Snapshot:
    """What a source looked like when it was read; any change before the write aborts it."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str) -> Snapshot:
        if not os.path.isdir(path):
            info = os.stat(path)
            return cls(info.st_size, info.st_mtime_ns, info.st_ino)
        infos = [os.stat(path)] + [
            os.stat(os.path.join(top, name)) for top, _, names in os.walk(path) for name in names
        ]
        return cls(sum(i.st_size for i in infos[1:]), max(i.st_mtime_ns for i in infos), infos[0].st_ino)

    def check(self, path: str) -> None:
        try:
            same = Snapshot.of(path) == self
        except OSError:
            same = False
        if not same:
            raise InputError("the model changed while it was being fixed; nothing was written")


def _read_only(path: str) -> bool:
    """Write permission as the user means it: os.access alone says yes to root."""
    return not os.access(path, os.W_OK) or not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _check_writable(final: str, is_dir: bool) -> str:
    folder = os.path.dirname(os.path.abspath(final))
    if not os.path.isdir(folder):
        raise InputError(f"output directory {folder} does not exist")
    if _read_only(folder):
        raise InputError(f"cannot write in {folder} (read-only directory); nothing was written")
    if os.path.lexists(final):
        if os.path.isdir(final) != is_dir:
            raise InputError(f"{final} exists and is {'not ' * is_dir}a directory; nothing was written")
        if _read_only(final):
            raise InputError(f"{final} is read-only; nothing was written")
    return folder


def temp_name(final: str, ext: str | None = None) -> str:
    """A hidden sibling name for scratch output: `.model.bnlint-<pid>-<random>.keras`. It
    keeps the extension (Keras picks its loader by it) and the pid (see sweep_stale)."""
    stem, own_ext = os.path.splitext(os.path.basename(final))
    random = os.urandom(3).hex()
    name = f".{stem}{TEMP_MARK}{os.getpid()}-{random}{own_ext if ext is None else ext}"
    return os.path.join(os.path.dirname(os.path.abspath(final)), name)


def sweep_stale(final: str) -> None:
    """Remove scratch files that a killed bnlint run left beside `final` (their pid is gone)."""
    folder = os.path.dirname(os.path.abspath(final))
    prefix = f".{os.path.splitext(os.path.basename(final))[0]}{TEMP_MARK}"
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            pid = entry.name[len(prefix) :].split("-", 1)[0]
            if entry.name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_backup(backup: str | None) -> None:
    if backup and os.path.lexists(backup):
        raise InputError(f"backup {backup} already exists; move it away first (nothing was written)")


@contextlib.contextmanager
def replacing_file(final: str, *, source: str, snapshot: Snapshot, backup: str | None = None) -> Iterator[str]:
    """Yield a temporary path beside `final`; once the caller's block has written (and
    checked) it, it replaces `final` atomically, `source` re-checked against `snapshot` first."""
    _check_writable(final, is_dir=False)
    _check_backup(backup)
    sweep_stale(final)
    temp = temp_name(final)
    try:
        yield temp
        _fsync_path(temp)
        mode = os.stat(final).st_mode if os.path.exists(final) else 0o666 & ~_umask()
        os.chmod(temp, stat.S_IMODE(mode))
        snapshot.check(source)
        if backup:
            try:
                os.link(final, backup)  # the original inode lives on under the backup name
            except OSError:
                shutil.copy2(final, backup)
        os.replace(temp, final)
        _fsync_path(os.path.dirname(os.path.abspath(final)))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


@contextlib.contextmanager
def replacing_dir(final: str, *, source: str, snapshot: Snapshot, backup: str | None = None) -> Iterator[str]:
    """Yield a temporary directory beside `final`; once the caller has filled it, the two
    are swapped so that `final` is at every moment a complete directory."""
    folder = _check_writable(final, is_dir=True)
    _check_backup(backup)
    sweep_stale(final)
    temp = temp_name(final)
    os.mkdir(temp)
    holds_new = True  # whether `temp` still holds the new version (else: the old one)
    try:
        yield temp
        for top, _, names in os.walk(temp):
            for name in names:
                _fsync_path(os.path.join(top, name))
            _fsync_path(top)
        snapshot.check(source)
        if not os.path.exists(final):
            os.rename(temp, final)
        elif _exchange(temp, final):
            holds_new = False
        else:
            old = temp_name(final)
            os.rename(final, old)
            os.rename(temp, final)
            temp, holds_new = old, False
        _fsync_path(folder)
        if backup and not holds_new:
            os.rename(temp, backup)
    finally:
        if os.path.isdir(temp) and (holds_new or not backup):
            shutil.rmtree(temp, ignore_errors=True)


def _exchange(first: str, second: str) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    return result == 0


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
