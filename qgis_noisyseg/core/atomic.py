"""Atomic output: write under a temporary name beside the target, then rename.

An interrupted command therefore never leaves a half-written file or folder under the final
name. The temporary name is the target's name followed by ``.tmp-``, so the next command on
the same target recognises and removes the ones a killed run left (``core.outputs``), and they
are git-ignored. Files and folders get the permissions of the user's umask, as any program's
would (``tempfile`` alone makes them private to the user, which a shared project folder or a
QGIS running as another account cannot read).

Which outputs a command may replace, and the locks that keep two commands off one output, are
``core.outputs``'s business: these functions only write.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

from .errors import UserError
from .markers import MARKER, TMP_INFIX, folder_kind, foreign_entries, output_marker


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _current_umask()


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(OSError):
        os.chmod(path, mode & ~UMASK)


def temporary_dir(target: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}{TMP_INFIX}", dir=target.parent))
    _chmod(tmp, 0o777)
    return tmp


def temporary_file(target: Path, suffix: str = "") -> Path:
    fd, name = tempfile.mkstemp(prefix=f"{target.name}{TMP_INFIX}", suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    _chmod(Path(name), 0o666)
    return Path(name)


@contextlib.contextmanager
def atomic_dir(target: os.PathLike | str, kind: Optional[str] = None) -> Iterator[Path]:
    """Yields a fresh temporary folder; on success it replaces ``target``. With ``kind``, the
    folder gets noisyseg's output marker of that kind, and an existing ``target`` is replaced
    only if it is a noisyseg folder of that kind holding nothing else (checked again at the
    rename: the command checked it at its start)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_dir(target)
    try:
        yield tmp
        if kind is not None:
            write_marker(tmp, kind)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()  # an empty folder holds nothing to lose
        if target.exists():
            if kind is not None and (folder_kind(target) != kind or foreign_entries(target, kind)):
                raise UserError(f"{target} changed while this command ran and is no longer a noisyseg {kind} "
                                "folder; nothing was replaced")
            trash = Path(tempfile.mkdtemp(prefix=f"{target.name}{TMP_INFIX}old-", dir=target.parent))
            os.replace(target, trash / "old")
            os.replace(tmp, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target: os.PathLike | str, suffix: str = "") -> Iterator[Path]:
    """Yields a temporary path beside ``target`` (same suffix, so drivers pick the right
    format); on success it is renamed onto ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_file(target, suffix)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_json(path: os.PathLike | str, data: Any) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n", encoding="utf-8")


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_marker(folder: Path, kind: str, complete: bool = True) -> None:
    """The marker: ``complete`` is False while an in-place folder is being written, so a folder
    that a killed command left behind is recognised as unfinished."""
    write_json(folder / MARKER, output_marker(kind, complete))
