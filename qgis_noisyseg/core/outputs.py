"""What a command writes, and the rules that keep an operator's files safe.

A command declares its outputs and inputs in an ``OutputPlan`` before it does any work, and
``check()`` refuses, in one line:

- an output that is an input, contains an input, or is the current folder, the home folder or
  a parent of either;
- two outputs with one path;
- an existing output without ``--overwrite``; with it, an output that noisyseg did not make.
  A folder is noisyseg's when it carries the marker file ``.noisyseg-output.json`` of the same
  kind (or is a dataset, run, study or analysis folder of an earlier version) and holds nothing
  noisyseg does not write there. A file is noisyseg's by its content: the GeoTIFF tag
  ``NOISYSEG_OUTPUT``, the ONNX metadata entry ``noisyseg``, a JSON ``format`` of ours.

``writing()`` then takes a lock beside every output (``.NAME.noisyseg-lock``, an OS file lock,
which a killed process releases), so two commands can never write one output at once; checks
again under the lock; and removes the temporaries (``NAME.tmp-*``) that a killed run left
beside the same output. The writers themselves go through ``core.atomic``: a temporary name
beside the target, renamed onto it only after success.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from .atomic import write_marker
from .errors import UserError
from .markers import FOLDER_NOUNS, LOCK_SUFFIX, TMP_INFIX, folder_kind, foreign_entries, is_unfinished, json_format
from .oserrors import require_writable

GEOTIFF_TAG = "NOISYSEG_OUTPUT"
STYLE_COMMENT = "written by qgis_noisyseg"

def _geotiff_is_ours(path: Path) -> bool:
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as src:
            if GEOTIFF_TAG in src.tags():
                return True
            legacy = src.tags(1)  # predictions written before the tag: class names, or the confidence band
            return any(key.startswith("CLASS_") for key in legacy) or (src.descriptions[0] or "").startswith("confidence (")
    except (RasterioIOError, OSError):
        return False


def _onnx_is_ours(path: Path) -> bool:
    try:
        import onnx

        model = onnx.load(str(path), load_external_data=False)
        return any(prop.key == "noisyseg" for prop in model.metadata_props)
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - not a readable ONNX file: not ours
        return False
    try:
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return "noisyseg" in session.get_modelmeta().custom_metadata_map
    except Exception:  # noqa: BLE001
        return False


def _style_is_ours(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
    except OSError:
        return False
    if STYLE_COMMENT in head:
        return True
    companion = path.with_suffix(".tif")  # a style written before the comment, beside our raster
    return companion.is_file() and _geotiff_is_ours(companion)


def _json_of(fmt: str, legacy_keys: set) -> Callable[[Path], bool]:
    """A JSON file of format ``fmt``, or of an earlier version that wrote ``legacy_keys`` and no format."""

    def owned(path: Path) -> bool:
        found = json_format(path)
        if found is not None:
            return found == fmt
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and legacy_keys <= data.keys()

    return owned


def _gpkg_is_ours(path: Path) -> bool:
    """A GeoPackage of ``vectorize`` or ``compare-map``: its ``layer_styles`` table holds a
    style that noisyseg stored (owner ``qgis_noisyseg``, the comment in the QML)."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT owner, styleQML FROM layer_styles").fetchall()
    except sqlite3.Error:
        return False
    return any(owner == "qgis_noisyseg" and STYLE_COMMENT in (qml or "") for owner, qml in rows)


FILE_OWNERS: dict[str, Callable[[Path], bool]] = {
    "geotiff": _geotiff_is_ours,
    "onnx": _onnx_is_ours,
    "style": _style_is_ours,
    "metrics": _json_of("noisyseg-metrics", {"miou", "per_class", "confusion_matrix"}),
    "suggestions": _json_of("noisyseg-suggestions", {"model", "dataset", "by", "tiles"}),
    "vector": _gpkg_is_ours,
}
FILE_NOUNS = {"geotiff": "a noisyseg raster", "onnx": "a noisyseg ONNX model", "style": "a noisyseg style",
              "metrics": "noisyseg metrics (a JSON file of `noisyseg evaluate`)",
              "suggestions": "a noisyseg suggestions file (a JSON file of `noisyseg suggest`)",
              "vector": "a noisyseg GeoPackage (of `noisyseg vectorize` or `compare-map`)"}


# -- the plan -----------------------------------------------------------------------------------


@dataclass
class Output:
    """One output. An ``in_place`` folder (a training run, a study, the demo) is written where it
    stands, because it is resumable or records its own paths: ``writing()`` creates it, and with
    ``--overwrite`` first moves the old one aside (``NAME.noisyseg-replaced-N``), deleting it
    only after success and putting it back after a failure. ``keep`` says whether a failed new
    in-place folder is worth keeping (a run with a resumable ``last.pt``)."""

    path: Path
    option: str
    kind: str
    folder: bool
    in_place: bool = False
    keep: Optional[Callable[[Path], bool]] = None
    existed: bool = False
    opened: bool = False
    aside: Optional[Path] = None


@dataclass
class OutputPlan:
    """The outputs and inputs of one command. ``check()`` before any work, ``writing()`` around it."""

    overwrite: bool = False
    resume: bool = False
    reporter: object = None
    outputs: list[Output] = field(default_factory=list)
    inputs: list[tuple[str, Path]] = field(default_factory=list)
    _locks: list["OutputLock"] = field(default_factory=list)
    _created: list[Path] = field(default_factory=list)

    def input(self, path, option: str) -> None:
        """An input of the command (a file or folder; ``FILE:layer`` names the file)."""
        if path is None:
            return
        text = os.fspath(path)
        candidate = Path(text)
        if not candidate.exists() and ":" in text[2:]:
            candidate = Path(text[:text.rindex(":")])
        self.inputs.append((option, candidate))

    def folder(self, path, option: str, kind: str, in_place: bool = False,
               keep: Optional[Callable[[Path], bool]] = None) -> Output:
        output = Output(Path(path), option, kind, folder=True, in_place=in_place, keep=keep)
        self.outputs.append(output)
        return output

    def file(self, path, option: str, kind: str) -> Output:
        output = Output(Path(path), option, kind, folder=False)
        self.outputs.append(output)
        return output

    def check(self) -> None:
        seen: dict[str, Output] = {}
        for output in self.outputs:
            key = _key(output.path)
            if key in seen:
                raise UserError(f"{output.option} {output.path} is the same path as {seen[key].option}; "
                                "give every output its own name")
            seen[key] = output
            self._check_paths(output)
            self._check_existing(output)
            require_writable(output.path.parent, output.option)

    def _check_paths(self, output: Output) -> None:
        target = _resolve(output.path)
        for option, path in self.inputs:
            source = _resolve(path)
            if target == source:
                raise UserError(f"{output.option} {output.path} is the input {option}; choose another {output.option}")
            if _is_ancestor(target, source):
                raise UserError(f"{output.option} {output.path} contains the input {option} {path}; "
                                f"choose a new {output.option} that holds no input")
            if source.is_dir() and _is_ancestor(source, target):
                raise UserError(f"{output.option} {output.path} is inside the input {option} {path}; "
                                f"write it outside the input folder")
        for name, place in (("the current folder", Path.cwd()), ("your home folder", Path.home())):
            place = _resolve(place)
            if target == place or _is_ancestor(target, place):
                raise UserError(f"{output.option} {output.path} is {name} or a parent of it; "
                                f"give {output.option} a new name such as {output.path / 'noisyseg_out'}")

    def _check_existing(self, output: Output) -> None:
        path = output.path
        output.existed = path.exists() or path.is_symlink()
        if not output.existed:
            return
        if output.folder:
            if not path.is_dir():
                raise UserError(f"{output.option} {path} is a file; give a folder name")
            if self.resume:
                if folder_kind(path) != output.kind:
                    raise UserError(f"{output.option} {path} is not {FOLDER_NOUNS[output.kind]}; "
                                    f"--resume continues a run that noisyseg wrote there")
                return
            if not any(path.iterdir()) or self._stale(output):
                return  # an empty folder holds nothing to lose; see _stale
        elif path.is_dir():
            raise UserError(f"{output.option} {path} is a folder; give a file name inside it")
        if not self.overwrite:
            more = ", --resume to continue it" if output.kind == "run" else ""
            raise UserError(f"{output.option} {path} already exists; pass --overwrite to replace it{more}, "
                            f"or choose another {output.option}")
        owned, reason = self._owned(output)
        if not owned:
            raise UserError(f"{output.option} {path} {reason}; --overwrite replaces only what noisyseg wrote: "
                            f"move it away or choose another {output.option}")

    def _owned(self, output: Output) -> tuple[bool, str]:
        path = output.path
        if output.folder:
            kind = folder_kind(path)
            if kind is None:
                return False, "is a folder that noisyseg did not write"
            if kind != output.kind:
                return False, f"is {FOLDER_NOUNS.get(kind, 'another noisyseg folder')}, not {FOLDER_NOUNS[output.kind]}"
            foreign = foreign_entries(path, kind)
            if foreign:
                listed = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
                return False, f"holds {listed}, which noisyseg did not write"
            return True, ""
        if path.is_symlink() or not path.is_file():
            return False, "is not a regular file"
        if not FILE_OWNERS[output.kind](path):
            return False, f"is not {FILE_NOUNS[output.kind]}"
        return True, ""

    @contextlib.contextmanager
    def writing(self) -> Iterator["OutputPlan"]:
        """``begin()``, then ``commit()`` after the block, or ``abort()`` if it raises."""
        self.begin()
        try:
            yield self
        except BaseException:
            self.abort()
            raise
        self.commit()

    def begin(self) -> None:
        """Locks every output, checks again under the locks (another process may have written
        an output since ``check()``), removes stale temporaries and prepares in-place folders."""
        try:
            for output in self.outputs:
                self._created.extend(_make_parents(output.path.parent))
                lock = OutputLock(output.path, output.option)
                lock.acquire()
                self._locks.append(lock)
            self.check()
            for output in self.outputs:
                removed = remove_stale_temporaries(output.path)
                if removed:
                    self._info(f"removed {len(removed)} temporary file(s) left by an interrupted run: "
                               f"{', '.join(removed[:3])}")
                for earlier in replaced_folders(output.path):
                    self._warn(f"{earlier} holds the {output.kind} that an interrupted --overwrite of {output.path} "
                               "replaced; rename it back or delete it")
                if output.in_place:
                    self._open_in_place(output)
        except BaseException:
            self.abort()
            raise

    def commit(self) -> None:
        """Success: deletes what the in-place folders replaced, and releases the locks."""
        for output in self.outputs:
            if output.in_place and output.path.is_dir() and is_unfinished(output.path):
                write_marker(output.path, output.kind, complete=True)
            if output.aside is not None:
                shutil.rmtree(output.aside, ignore_errors=True)
                output.aside = None
        self._created = []
        self._release()

    def abort(self) -> None:
        """Failure: undoes the in-place folders, releases the locks, removes parents it made."""
        for output in self.outputs:
            self._undo_in_place(output)
        created, self._created = self._created, []
        self._release()
        for parent in reversed(created):
            with contextlib.suppress(OSError):
                parent.rmdir()

    def _stale(self, output: Output) -> bool:
        """An unfinished in-place folder of ours with nothing worth keeping: its command was
        killed before it left anything resumable. Only the command holding its lock removes it."""
        path = output.path
        return (output.in_place and folder_kind(path) == output.kind and is_unfinished(path)
                and not foreign_entries(path, output.kind) and not (output.keep and output.keep(path)))

    def _open_in_place(self, output: Output) -> None:
        path = output.path
        if output.existed and self.resume:
            return
        if output.existed and self._stale(output):
            shutil.rmtree(path)
            self._info(f"removed {path}, which an interrupted command left unfinished")
        elif output.existed and any(path.iterdir()):
            output.aside = _free_name(path, ".noisyseg-replaced-")
            os.replace(path, output.aside)
        elif output.existed:
            path.rmdir()
        output.opened = True
        try:
            path.mkdir()
        except FileExistsError:
            raise UserError(f"{output.option} {path} appeared while this command started; choose another "
                            f"{output.option}") from None
        write_marker(path, output.kind, complete=False)
        output.existed = False

    def _undo_in_place(self, output: Output) -> None:
        if not output.opened:
            return
        path = output.path
        if path.is_dir() and folder_kind(path) == output.kind and (output.aside is not None or not
                                                                    (output.keep and output.keep(path))):
            shutil.rmtree(path, ignore_errors=True)
        if output.aside is not None and not path.exists():
            os.replace(output.aside, path)
            output.aside = None

    def _info(self, message: str) -> None:
        if self.reporter is not None:
            self.reporter.info(message)

    def _warn(self, message: str) -> None:
        if self.reporter is not None:
            self.reporter.warning(message)

    def _release(self) -> None:
        while self._locks:
            self._locks.pop().release()


def replaced_folders(target: Path) -> list[Path]:
    prefix = target.name + ".noisyseg-replaced-"
    try:
        return sorted(entry for entry in target.parent.iterdir() if entry.name.startswith(prefix))
    except OSError:
        return []


def _free_name(target: Path, infix: str) -> Path:
    number = 1
    while True:
        candidate = target.with_name(f"{target.name}{infix}{number}")
        if not candidate.exists():
            return candidate
        number += 1


def _make_parents(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            raise UserError(f"cannot create the folder {path} ({exc.strerror}); choose another output folder") from None
    return list(reversed(missing))


def remove_stale_temporaries(target: Path) -> list[str]:
    """Removes ``TARGET.tmp-*`` beside ``target``: only a run on the same target makes them, and
    the caller holds that target's lock, so they are left by a run that was killed."""
    prefix = target.name + TMP_INFIX
    removed = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(prefix):
            with contextlib.suppress(OSError):
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                removed.append(entry.name)
    return removed


def _resolve(path: Path) -> Path:
    return Path(os.path.normcase(os.path.abspath(os.path.realpath(path))))


def _key(path: Path) -> str:
    return str(_resolve(path))


def _is_ancestor(folder: Path, path: Path) -> bool:
    return folder != path and folder in path.parents


# -- locks --------------------------------------------------------------------------------------


class OutputLock:
    """An exclusive, non-blocking OS lock on ``.NAME.noisyseg-lock`` beside an output. The OS
    releases it when the process ends, however it ends, so a killed run never blocks the next."""

    def __init__(self, target: Path, option: str = "--out") -> None:
        self.target = target
        self.option = option
        self.path = target.parent / f".{target.name}{LOCK_SUFFIX}"
        self.fd: Optional[int] = None

    def acquire(self) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                raise UserError(f"cannot write beside {self.target} ({exc.strerror}); "
                                f"choose another {self.option} in a folder you can write to") from None
            if not _try_lock(fd):
                os.close(fd)
                raise UserError(f"another noisyseg command is writing {self.target}; wait for it to finish "
                                f"or choose another {self.option}")
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:  # not a lock file that its previous holder unlinked after we opened it
                self.fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        _unlock(self.fd)
        os.close(self.fd)
        self.fd = None


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


def plan_outputs(overwrite: bool, inputs: Sequence[tuple[object, str]], reporter=None, resume: bool = False) -> OutputPlan:
    """A plan with ``inputs`` as (path, option) pairs registered."""
    plan = OutputPlan(overwrite=overwrite, resume=resume, reporter=reporter)
    for path, option in inputs:
        plan.input(path, option)
    return plan
