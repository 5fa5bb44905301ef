"""Atomic output: write under a temporary name beside the target, then rename.

An interrupted command therefore never leaves a half-written file or folder under the final
name. The temporary name starts with the target's name and holds ``.tmp-``, so stray ones are
easy to recognise (and are git-ignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import UserError


def check_output_free(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        raise UserError(f"{target} already exists; pass --overwrite to replace it, or choose another --out")


@contextlib.contextmanager
def atomic_dir(target: os.PathLike | str, overwrite: bool = False) -> Iterator[Path]:
    """Yields a fresh temporary folder; on success it replaces ``target``."""
    target = Path(target)
    check_output_free(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            trash = Path(tempfile.mkdtemp(prefix=f"{target.name}.tmp-old-", dir=target.parent))
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
    fd, name = tempfile.mkstemp(prefix=f"{target.stem}.tmp-", suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
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
