"""The file system's failures as user errors (issue 16).

A full disk, a read-only folder, a file the user may not read, an output path that is a folder:
none of these is a bug, and each gets one line naming the path and the fix, exit 2, never a
traceback. The writers go through ``core.atomic`` and ``core.outputs``, so by the time the CLI
sees the exception the temporary output is already removed.

``describe`` turns an exception into that line (or None: not the file system's doing);
``free_space``/``require_free_space`` check the space up front where the size of an output is
known (export, predict), as GDAL does for uncompressed GeoTIFFs.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Optional

from .errors import UserError

NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
READ_ONLY = {errno.EROFS}
DENIED = {errno.EACCES, errno.EPERM}
# What GDAL, PROJ, libtiff and torch's writers say for the same failures (they raise their own
# exception types, without an errno).
_TEXT = [
    (re.compile(r"no space left|disk full|not enough space|file too large|quota exceeded|"
                r"PytorchStreamWriter failed writing|file write failed", re.I), "space"),
    (re.compile(r"read-only file system", re.I), "read-only"),
    (re.compile(r"permission denied|access is denied", re.I), "denied"),
    (re.compile(r"is a directory", re.I), "folder"),
    # A failed write that does not say why (GDAL's "Write failed", libtiff's "IO error writing",
    # torch's "unexpected pos"): the disk being full is told apart by the free space left.
    (re.compile(r"write failed|IO error writing|error writing|unexpected pos \d+ vs|failed to write", re.I), "write"),
]
FULL_BELOW_MB = 1.0  # a failed write with less than this free is a full disk


def _kind(exc: BaseException) -> Optional[str]:
    number = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and number is not None:
        if number in NO_SPACE:
            return "space"
        if number in READ_ONLY:
            return "read-only"
        if number in DENIED:
            return "denied"
        if number == errno.EISDIR:
            return "folder"
        if number == errno.ENOTDIR:
            return "not-folder"
        if number == errno.EIO:
            return "io"
    text = str(exc)
    for pattern, kind in _TEXT:
        if pattern.search(text):
            return kind
    return None


def _path_of(exc: BaseException) -> Optional[str]:
    name = getattr(exc, "filename", None)
    if name:
        return os.fspath(name)
    match = re.search(r"(/[^\s:'\"]+|[A-Za-z]:\\[^\s:'\"]+)", str(exc))
    return match.group(1) if match else None


def _free_mb(path: Optional[str]) -> Optional[float]:
    folder = Path(path) if path else None
    while folder is not None and not folder.exists():
        folder = folder.parent if folder.parent != folder else None
    if folder is None:
        return None
    try:
        return shutil.disk_usage(folder).free / 2**20
    except OSError:
        return None


def describe(exc: BaseException, out: Optional[str] = None) -> Optional[str]:
    """One line for a file-system failure, naming the path and the fix; None if ``exc`` is not one.
    ``out`` is the command's output, named where the exception names no path."""
    seen: set = set()
    kind, current = None, exc
    while current is not None and id(current) not in seen:  # a wrapped OSError counts as well
        seen.add(id(current))
        kind = _kind(current)
        if kind is not None:
            break
        current = current.__cause__ or current.__context__
    if kind is None:
        return None
    exc = current
    path = _path_of(exc) or out
    where = f" {path}" if path else ""
    if kind == "write":
        free = _free_mb(path)
        kind = "space" if free is not None and free < FULL_BELOW_MB else "io"
    if kind == "space":
        free = _free_mb(path)
        room = f" ({free:.1f} MB free there)" if free is not None else ""
        return (f"no space left on the device while writing{where}{room}; the partial output was removed: "
                "free some space or choose another output folder")
    if kind == "read-only":
        return f"cannot write{where}: the file system is read-only; choose an output folder you can write to"
    if kind == "denied":
        return (f"permission denied for{where}; check that you may read the inputs and write the output folder, "
                "or choose others")
    if kind == "folder":
        return f"{path or 'the output'} is a folder; give a file name (inside it) instead"
    if kind == "not-folder":
        return f"a part of the path{where} is a file, not a folder; choose another path"
    return f"the disk failed to read or write{where} (input/output error); check the disk, or choose another folder"


def existing_ancestor(path: Path) -> Path:
    """``path``, or its nearest parent that exists."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def free_files(folder: Path) -> Optional[int]:
    """How many more files (inodes) the file system of ``folder`` holds; None if unknown or unbounded."""
    try:
        stats = os.statvfs(existing_ancestor(folder))
    except (OSError, AttributeError):
        return None
    return stats.f_favail if stats.f_files else None


def free_space(folder: Path) -> Optional[int]:
    """Bytes free for an unprivileged user in ``folder`` (or its nearest existing parent)."""
    folder = existing_ancestor(folder)
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # statvfs is POSIX
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            return None
    return stats.f_bavail * stats.f_frsize


def require_free_space(folder: Path, needed: int, what: str, option: str = "--out", force: bool = False) -> None:
    """Refuses, before any work, a ``what`` of about ``needed`` bytes where less is free."""
    free = free_space(folder)
    if force or free is None or free >= needed:
        return
    raise UserError(f"not enough space for {what} in {folder}: it needs about {needed / 2**20:.1f} MB and "
                    f"{free / 2**20:.1f} MB are free; free {(needed - free) / 2**20:.1f} MB, choose another {option}, "
                    "or pass --force to try anyway")


def require_writable(folder: Path, option: str) -> None:
    """Refuses an output whose folder (or nearest existing parent) is read-only or not writable."""
    folder = Path(folder)
    while not folder.exists():
        if folder.parent == folder:
            return
        folder = folder.parent
    if not folder.is_dir():
        raise UserError(f"{option}: {folder} is a file, not a folder; choose another {option}")
    read_only = False
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        pass
    if read_only:
        raise UserError(f"cannot write {option} into {folder}: the file system is read-only; "
                        f"choose another {option} in a folder you can write to")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {option} into {folder}: permission denied; "
                        f"choose another {option} in a folder you can write to")
