"""Data loss: no command may delete or change a file it did not make (issue 11).

Each row sets up a case under ``tmp_path`` (inputs, an earlier good output, a user's own files),
runs the command, and checks exit 2 with one line naming the problem, that every file under
``tmp_path`` is byte-identical afterwards, and that nothing new is there.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import DENMARK
from tests.core.test_clean import MAIN, standard_polygons, write_annotations
from tests.robustness.conftest import (assert_one_line_error, assert_unchanged, export_args, snapshot,
                                       tiny_training_args)


@dataclass
class Case:
    id: str
    argv: Callable[[Path], list]  # from the work folder (inputs copied in) to the command line
    message: str  # a fragment of the one-line error
    setup: Callable[[Path], None] = lambda work: None
    cwd: Callable[[Path], Path] | None = None  # run from this folder (default: unchanged)
    home: Callable[[Path], Path] | None = None  # HOME for the run


def user_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "notes.txt").write_text("three weeks of field notes\n")
    (path / "sub").mkdir(exist_ok=True)
    (path / "sub" / "photo.jpg").write_bytes(b"\xff\xd8 not really a photo")
    return path


def annotations(work: Path) -> Path:
    return write_annotations(work / "scene" / "clean.gpkg", work / "dataset", {MAIN}, standard_polygons(work / "dataset"))


def clean_args(work: Path, out: Path, *extra) -> list:
    gpkg = work / "scene" / "clean.gpkg"
    return ["clean", "--data", work / "dataset", "--labels", f"{gpkg}:clean_labels", "--tiles", f"{gpkg}:tiles",
            "--out", out, *extra]


def finetune_args(work: Path, out: Path, *extra) -> list:
    return ["finetune", "--data", work / "dataset", "--init", work / "run" / "model.pt", "--out", out, "--epochs", "1",
            "--device", "cpu", *extra]


def predict_args(work: Path, *extra) -> list:
    return ["predict", "--model", work / "model.onnx", "--image", work / "scene" / "RGB_small.tif", *extra]


def analyze_args(work: Path, out: Path, *extra) -> list:
    model = work / "run" / "model.pt"
    return ["analyze", "--a", model, "--b", model, "--data", work / "dataset", "--out", out, "--tiles", "2", *extra]


def study_args(work: Path, out: Path, *extra) -> list:
    return ["study", "label-efficiency", "--noisy", work / "dataset", "--clean", work / "dataset", "--test",
            work / "dataset", "--k", "2", "--seeds", "1", "--inits", "scratch", "--epochs", "1", "--base-width", "8",
            "--out", out, *extra]


def write_junk(path: Path, data: bytes = b"the user's own file\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


CASES = [
    # --out holds the inputs, or is a parent of them
    Case("export-out-holds-inputs", lambda w: export_args(w / "scene", w / "scene", "--overwrite"), "contains the input"),
    Case("export-out-parent-of-inputs", lambda w: export_args(w / "scene", w, "--overwrite"), "contains the input"),
    Case("export-out-is-cwd", lambda w: export_args(w / "scene", Path("."), "--overwrite"), "current folder",
         setup=lambda w: user_folder(w / "elsewhere"), cwd=lambda w: w / "elsewhere"),
    Case("export-out-is-parent-of-cwd", lambda w: export_args(w / "scene", Path(".."), "--overwrite"),
         "current folder", setup=lambda w: user_folder(w / "elsewhere" / "deeper"),
         cwd=lambda w: w / "elsewhere" / "deeper"),
    Case("export-out-is-home", lambda w: export_args(w / "scene", w / "home", "--overwrite"), "home folder",
         setup=lambda w: user_folder(w / "home"), home=lambda w: w / "home"),
    Case("corrupt-out-holds-input", lambda w: ["corrupt", "--data", w / "dataset", "--out", w, "--rate", "0.3",
                                               "--overwrite"], "contains the input"),
    Case("corrupt-out-is-input", lambda w: ["corrupt", "--data", w / "dataset", "--out", w / "dataset", "--rate",
                                            "0.3", "--overwrite"], "is the input"),
    Case("clean-out-holds-annotations", lambda w: clean_args(w, w / "scene", "--overwrite"), "contains the input",
         setup=annotations),
    Case("clean-out-is-noisy-dataset", lambda w: clean_args(w, w / "dataset", "--overwrite"), "is the input",
         setup=annotations),
    Case("analyze-out-holds-models", lambda w: analyze_args(w, w / "run", "--overwrite"), "contains the input"),
    Case("pretrain-out-is-cwd", lambda w: tiny_training_args(w / "dataset", Path("."), "--overwrite"),
         "current folder", setup=lambda w: user_folder(w / "elsewhere"), cwd=lambda w: w / "elsewhere"),
    Case("pretrain-out-holds-dataset", lambda w: tiny_training_args(w / "dataset", w, "--overwrite"),
         "contains the input"),
    Case("finetune-out-holds-init", lambda w: finetune_args(w, w / "run", "--overwrite"), "contains the input"),
    Case("study-out-holds-datasets", lambda w: study_args(w, w, "--overwrite"), "contains the input"),
    Case("demo-out-holds-scene", lambda w: ["demo", "--quick", "--data-dir", w / "data", "--out", w / "data"],
         "contains the input", setup=lambda w: shutil.copytree(DENMARK, w / "data" / "denmark_s2_fields")),
    # --overwrite of something noisyseg did not make
    Case("export-overwrite-user-folder", lambda w: export_args(w / "scene", w / "mine", "--overwrite"),
         "noisyseg did not write", setup=lambda w: user_folder(w / "mine")),
    Case("export-overwrite-dataset-with-user-file", lambda w: export_args(w / "scene", w / "dataset", "--overwrite"),
         "which noisyseg did not write", setup=lambda w: write_junk(w / "dataset" / "README.txt")),
    Case("pretrain-overwrite-a-dataset", lambda w: tiny_training_args(w / "dataset", w / "dataset2", "--overwrite"),
         "not a training run", setup=lambda w: shutil.copytree(w / "dataset", w / "dataset2")),
    Case("pretrain-overwrite-user-folder", lambda w: tiny_training_args(w / "dataset", w / "mine", "--overwrite"),
         "noisyseg did not write", setup=lambda w: user_folder(w / "mine")),
    Case("finetune-overwrite-run-with-user-file", lambda w: finetune_args(w, w / "run2", "--overwrite"),
         "which noisyseg did not write",
         setup=lambda w: (shutil.copytree(w / "run", w / "run2"), write_junk(w / "run2" / "my_notes.md"))),
    Case("analyze-overwrite-user-folder", lambda w: analyze_args(w, w / "mine", "--overwrite"),
         "noisyseg did not write", setup=lambda w: user_folder(w / "mine")),
    Case("corrupt-overwrite-user-folder", lambda w: ["corrupt", "--data", w / "dataset", "--out", w / "mine", "--rate",
                                                     "0.3", "--overwrite"], "noisyseg did not write",
         setup=lambda w: user_folder(w / "mine")),
    Case("study-overwrite-user-folder", lambda w: study_args(w, w / "mine", "--overwrite"), "noisyseg did not write",
         setup=lambda w: user_folder(w / "mine")),
    Case("demo-into-user-folder", lambda w: ["demo", "--quick", "--out", w / "mine"], "noisyseg did not write",
         setup=lambda w: user_folder(w / "mine")),
    Case("export-onnx-overwrite-user-file", lambda w: ["export-onnx", "--model", w / "run" / "model.pt", "--out",
                                                       w / "theirs.onnx", "--overwrite"], "not a noisyseg ONNX model",
         setup=lambda w: write_junk(w / "theirs.onnx", b"\x08\x07 someone else's model")),
    Case("export-onnx-out-is-the-checkpoint", lambda w: ["export-onnx", "--model", w / "run" / "model.pt", "--out",
                                                         w / "run" / "model.pt", "--overwrite"], "is the input"),
    Case("export-onnx-out-is-a-folder", lambda w: ["export-onnx", "--model", w / "run" / "model.pt", "--out",
                                                   w / "dataset", "--overwrite"], "is a folder"),
    Case("predict-out-is-the-image", lambda w: predict_args(w, "--out", w / "scene" / "RGB_small.tif", "--overwrite"),
         "is the input"),
    Case("predict-overwrite-user-geotiff", lambda w: predict_args(w, "--out", w / "theirs.tif", "--overwrite"),
         "not a noisyseg raster", setup=lambda w: shutil.copy2(w / "scene" / "RGB_small.tif", w / "theirs.tif")),
    Case("predict-overwrite-user-style", lambda w: predict_args(w, "--out", w / "p.tif", "--overwrite"),
         "not a noisyseg style", setup=lambda w: write_junk(w / "p.qml", b"<qgis>my hand-made style</qgis>")),
    Case("predict-disagreement-out-is-out", lambda w: predict_args(w, "--out", w / "p.tif", "--disagreement-with",
                                                                   w / "scene" / "marker_small_c31bc47.shp",
                                                                   "--disagreement-out", w / "p.tif"),
         "same path as --out"),
    Case("predict-confidence-is-out", lambda w: predict_args(w, "--out", w / "p.tif", "--confidence", w / "p.tif"),
         "same path as --out"),
    Case("predict-confidence-style-is-out-style", lambda w: predict_args(w, "--out", w / "p.tif", "--confidence",
                                                                         w / "p.tiff"), "same path"),
    Case("evaluate-out-is-user-json", lambda w: ["evaluate", "--model", w / "run" / "model.pt", "--data",
                                                 w / "dataset", "--out", w / "mine.json"], "not noisyseg metrics",
         setup=lambda w: write_junk(w / "mine.json", b'{"my": "settings"}\n')),
    Case("evaluate-out-is-the-manifest", lambda w: ["evaluate", "--model", w / "run" / "model.pt", "--data",
                                                    w / "dataset", "--out", w / "dataset" / "manifest.json"],
         "inside the input"),
    Case("evaluate-out-is-another-runs-config", lambda w: ["evaluate", "--model", w / "run" / "model.pt", "--data",
                                                           w / "dataset", "--out", w / "run2" / "config.json"],
         "not noisyseg metrics", setup=lambda w: shutil.copytree(w / "run", w / "run2")),
    Case("suggest-out-is-user-json", lambda w: ["suggest", "--model", w / "model.onnx", "--data", w / "dataset",
                                                "--out", w / "mine.json"], "not a noisyseg suggestions file",
         setup=lambda w: write_junk(w / "mine.json", b'{"my": "settings"}\n')),
    Case("suggest-out-is-a-folder", lambda w: ["suggest", "--model", w / "model.onnx", "--data", w / "dataset",
                                               "--out", w / "run"], "is a folder"),
    Case("predict-vectorize-overwrite-user-gpkg", lambda w: predict_args(w, "--out", w / "p.tif", "--vectorize",
                                                                         w / "mine.gpkg", "--overwrite"),
         "not a noisyseg GeoPackage", setup=lambda w: write_junk(w / "mine.gpkg")),
    Case("vectorize-overwrite-user-gpkg", lambda w: ["vectorize", "--prediction", w / "scene" / "RGB_small.tif",
                                                     "--out", w / "mine.gpkg", "--overwrite"],
         "not a noisyseg GeoPackage", setup=lambda w: write_junk(w / "mine.gpkg")),
    Case("compare-map-out-is-the-old-map", lambda w: ["compare-map", "--prediction", w / "scene" / "RGB_small.tif",
                                                      "--labels", w / "old.gpkg", "--field", "f", "--out",
                                                      w / "old.gpkg", "--overwrite"], "is the input",
         setup=lambda w: write_junk(w / "old.gpkg")),
    # arguments are checked before an old run is touched
    Case("pretrain-overwrite-bad-lr", lambda w: tiny_training_args(w / "dataset", w / "run", "--overwrite", "--lr",
                                                                   "-1"), "--lr"),
    Case("pretrain-overwrite-nan-lr", lambda w: tiny_training_args(w / "dataset", w / "run", "--overwrite", "--lr",
                                                                   "nan"), "--lr"),
    Case("pretrain-overwrite-bad-weight-decay", lambda w: tiny_training_args(w / "dataset", w / "run", "--overwrite",
                                                                             "--weight-decay", "-1"), "--weight-decay"),
    Case("finetune-overwrite-bad-batch", lambda w: finetune_args(w, w / "run2", "--overwrite", "--batch-size", "0"),
         "--batch-size", setup=lambda w: shutil.copytree(w / "run", w / "run2")),
    Case("finetune-overwrite-freeze-everything", lambda w: finetune_args(w, w / "run2", "--overwrite", "--freeze",
                                                                         "encoder,decoder,head"), "nothing to train",
         setup=lambda w: shutil.copytree(w / "run", w / "run2")),
    Case("refused-resume-keeps-command-txt", lambda w: tiny_training_args(w / "dataset", w / "run", "--resume",
                                                                          "--base-width", "16"), "--base-width"),
    Case("resume-changed-lr-refused", lambda w: tiny_training_args(w / "dataset", w / "run", "--resume", "--lr", "0.1"),
         "--lr"),
    Case("resume-and-overwrite", lambda w: tiny_training_args(w / "dataset", w / "run", "--resume", "--overwrite"),
         "contradict"),
    Case("export-overwrite-bad-split", lambda w: export_args(w / "scene", w / "dataset", "--overwrite", "--split",
                                                             "0.8,nan,0.1"), "--split"),
    Case("export-overwrite-labels-missing", lambda w: export_args(w / "scene", w / "dataset", "--overwrite", "--field",
                                                                  "NoSuchField"), "NoSuchField"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_no_file_is_lost(case: Case, inputs: Path, run_cli, monkeypatch):
    case.setup(inputs)
    if case.cwd is not None:
        monkeypatch.chdir(case.cwd(inputs))
    if case.home is not None:
        monkeypatch.setenv("HOME", str(case.home(inputs)))
    argv = case.argv(inputs)
    before = snapshot(inputs)
    result = run_cli(*argv, "--json")
    assert_one_line_error(result, case.message)
    assert_unchanged(before, snapshot(inputs))


def test_overwrite_replaces_only_at_the_end(inputs: Path, run_cli):
    """A run that fails during training leaves the run it was to replace as it was."""
    before = snapshot(inputs / "run")
    result = run_cli(*tiny_training_args(inputs / "dataset", inputs / "run", "--overwrite", "--lr", "1e6",
                                         "--epochs", "3", "--json"))
    assert_one_line_error(result, "diverged")
    assert_unchanged(before, snapshot(inputs / "run"))
    assert not [p.name for p in inputs.iterdir() if "noisyseg" in p.name or ".tmp-" in p.name]


def test_overwrite_of_our_own_output_works(inputs: Path, run_cli):
    """The guard refuses only what is not ours: every kind of output can be replaced."""
    work = inputs
    assert run_cli(*export_args(work / "scene", work / "dataset", "--overwrite")).code == 0
    assert run_cli(*tiny_training_args(work / "dataset", work / "run", "--overwrite")).code == 0
    assert run_cli("export-onnx", "--model", work / "run" / "model.pt", "--out", work / "model.onnx",
                   "--overwrite").code == 0
    for _ in range(2):
        assert run_cli(*predict_args(work, "--out", work / "p.tif", "--confidence", work / "c.tif",
                                     "--overwrite")).code == 0
        assert run_cli("evaluate", "--model", work / "run" / "model.pt", "--data", work / "dataset",
                       "--out", work / "metrics.json").code == 0
    leftovers = [p.name for p in work.rglob("*") if ".tmp-" in p.name or p.name.endswith(".noisyseg-lock")]
    assert not leftovers
    assert not [p for p in work.iterdir() if ".noisyseg-replaced-" in p.name]


def test_outputs_are_created_with_the_users_umask(inputs: Path):
    """Not 0600 as temporary files are: a shared project folder must be able to read them."""
    import subprocess
    import sys

    from tests.conftest import REPO

    code = ("import os, sys; os.umask(0o027); from qgis_noisyseg.cli import main; "
            f"sys.exit(main({[str(a) for a in export_args(inputs / 'scene', inputs / 'shared')]!r}))")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True)
    manifest = inputs / "shared" / "manifest.json"
    assert oct(os.stat(manifest).st_mode & 0o777) == oct(0o640)
    assert oct(os.stat(inputs / "shared").st_mode & 0o777) == oct(0o750)
    assert oct(os.stat(inputs / "shared" / "images").st_mode & 0o777) == oct(0o750)
