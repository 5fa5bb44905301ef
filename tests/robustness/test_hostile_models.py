"""Broken model files, for every command that reads one (issue 16).

A checkpoint is checked once where it is loaded (``backend/checkpoint.py``: a safe torch file
of noisyseg's format, with weights and a config naming the architecture, the classes and the
normalisation of every band, weights that fit it); an ONNX model where it is opened
(``inference/model.py``: the ``noisyseg`` metadata contract and a graph that matches it). A row
damages a copy, runs one command, and checks exit 2, one stderr line, no traceback, and nothing
changed or new under the work folder.
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import torch

from tests.robustness.conftest import assert_one_line_error, assert_unchanged, snapshot


def rewrite_checkpoint(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        checkpoint = torch.load(path, weights_only=True)
        change(checkpoint)
        torch.save(checkpoint, path)
    return damage


def rewrite_config(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(checkpoint: dict) -> None:
        config = json.loads(checkpoint["config_json"])
        change(config)
        checkpoint["config_json"] = json.dumps(config)
    return rewrite_checkpoint(edit)


def raw(data: Callable[[Path], bytes]) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data(path))


class Payload:  # pickled into a file: loading it must not run it
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@dataclass
class Damage:
    id: str
    apply: Callable[[Path], object]
    message: str


CHECKPOINT_DAMAGES = [
    Damage("random-bytes", raw(lambda p: os.urandom(4096)), "not a readable checkpoint"),
    Damage("empty-file", raw(lambda p: b""), "not a readable checkpoint"),
    Damage("truncated", raw(lambda p: p.read_bytes()[: p.stat().st_size // 2]), "not a readable checkpoint"),
    Damage("json-text", raw(lambda p: b'{"model": "weights"}\n'), "not a readable checkpoint"),
    Damage("pickled-code", lambda p: torch.save({"format": "noisyseg-checkpoint", "state_dict": Payload()}, p),
           "not a safe checkpoint"),
    Damage("plain-pickle", raw(lambda p: pickle.dumps({"state_dict": Payload()})), "not a readable checkpoint"),
    Damage("another-format", rewrite_checkpoint(lambda c: c.update(format="something-else")), "not a noisyseg checkpoint"),
    Damage("newer-format-version", rewrite_checkpoint(lambda c: c.update(format_version=99)), "newer qgis_noisyseg"),
    Damage("config-json-broken", rewrite_checkpoint(lambda c: c.update(config_json="{broken")), "no valid config_json"),
    Damage("no-state-dict", rewrite_checkpoint(lambda c: c.pop("state_dict")), "holds no weights"),
    Damage("config-without-normalization", rewrite_config(lambda c: c.pop("normalization")), "'normalization'"),
    Damage("config-normalization-short", rewrite_config(lambda c: c["normalization"]["mean"].pop()), "'normalization'"),
    Damage("config-std-zero", rewrite_config(lambda c: c["normalization"].update(std=[0.0, 1.0, 1.0])),
           "'normalization'"),
    Damage("config-without-classes", rewrite_config(lambda c: c.pop("classes")), "'classes'"),
    Damage("config-unknown-encoder", rewrite_config(lambda c: c.update(encoder="vit-huge")), "Unknown encoder"),
    Damage("config-without-in-channels", rewrite_config(lambda c: c.pop("in_channels")), "'in_channels'"),
    Damage("weights-of-another-width", rewrite_config(lambda c: c.update(base_width=16)), "do not fit"),
]


@dataclass
class Command:
    id: str
    argv: Callable[[Path, Path], list]  # (work, the damaged checkpoint's path)
    target: Callable[[Path], Path]  # which file of the work folder is damaged


CHECKPOINT_COMMANDS = [
    Command("evaluate", lambda w, m: ["evaluate", "--model", m, "--data", w / "dataset", "--device", "cpu"],
            lambda w: w / "run" / "model.pt"),
    Command("finetune-init", lambda w, m: ["finetune", "--data", w / "dataset", "--init", m, "--out", w / "ft",
                                           "--epochs", "1", "--device", "cpu"], lambda w: w / "run" / "model.pt"),
    Command("export-onnx", lambda w, m: ["export-onnx", "--model", m, "--out", w / "new.onnx"],
            lambda w: w / "run" / "model.pt"),
    Command("analyze", lambda w, m: ["analyze", "--a", m, "--b", w / "other.pt", "--data", w / "dataset", "--out",
                                     w / "analysis", "--tiles", "2"], lambda w: w / "run" / "model.pt"),
    Command("pretrain-resume", lambda w, m: ["pretrain", "--data", w / "dataset", "--out", w / "run", "--resume",
                                             "--epochs", "2", "--device", "cpu"], lambda w: w / "run" / "last.pt"),
]
# Config entries a command does not use: finetune starts from the init's weights (with its
# dataset's classes and statistics), and a resumed run takes them from its dataset.
UNUSED = ("config-without-normalization", "config-normalization-short", "config-std-zero", "config-without-classes")
SKIP = {(command, damage) for command in ("finetune-init", "pretrain-resume") for damage in UNUSED}
SKIP |= {("analyze", "config-without-classes")}
CHECKPOINT_ROWS = [(c, d) for c in CHECKPOINT_COMMANDS for d in CHECKPOINT_DAMAGES if (c.id, d.id) not in SKIP]


@pytest.mark.parametrize("command,damage", CHECKPOINT_ROWS, ids=[f"{c.id}-{d.id}" for c, d in CHECKPOINT_ROWS])
def test_a_broken_checkpoint_is_refused_in_one_line(command: Command, damage: Damage, inputs: Path, run_cli):
    (inputs / "other.pt").write_bytes((inputs / "run" / "model.pt").read_bytes())
    target = command.target(inputs)
    damage.apply(target)
    before = snapshot(inputs)
    result = run_cli(*command.argv(inputs, target), "--json")
    line = assert_one_line_error(result, damage.message)
    assert target.name in line, line
    assert_unchanged(before, snapshot(inputs))
    assert not (inputs.parent / "pwned").exists()


def rewrite_onnx(change: Callable[[dict], object], key: str = "noisyseg") -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        import onnx

        model = onnx.load(str(path))
        props = {p.key: p.value for p in model.metadata_props}
        metadata = json.loads(props[key])
        change(metadata)
        props[key] = json.dumps(metadata)
        del model.metadata_props[:]
        onnx.helper.set_model_props(model, props)
        onnx.save(model, str(path))
    return damage


def drop_metadata(path: Path) -> None:
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    onnx.save(model, str(path))


def broken_metadata(path: Path) -> None:
    import onnx

    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "noisyseg":
            prop.value = "{not json"
    onnx.save(model, str(path))


ONNX_DAMAGES = [
    Damage("random-bytes", raw(lambda p: os.urandom(4096)), "not a readable ONNX model"),
    Damage("empty-file", raw(lambda p: b""), "not a readable ONNX model"),
    Damage("truncated", raw(lambda p: p.read_bytes()[: p.stat().st_size // 2]), "not a readable ONNX model"),
    Damage("a-checkpoint", lambda p: p.write_bytes((p.parent / "run" / "model.pt").read_bytes()),
           "not a readable ONNX model"),
    Damage("no-metadata", drop_metadata, "no 'noisyseg' metadata"),
    Damage("metadata-not-json", broken_metadata, "not valid JSON"),
    Damage("metadata-without-normalization", rewrite_onnx(lambda m: m.pop("normalization")), "invalid 'noisyseg' metadata"),
    Damage("metadata-without-classes", rewrite_onnx(lambda m: m.pop("classes")), "invalid 'noisyseg' metadata"),
    Damage("metadata-wrong-band-count", rewrite_onnx(lambda m: m.update(in_channels=5)), "invalid 'noisyseg' metadata"),
    Damage("metadata-wrong-tile-size", rewrite_onnx(lambda m: m.update(tile_size=128)), "tile_size"),
]

ONNX_COMMANDS = [
    Command("predict", lambda w, m: ["predict", "--model", m, "--image", w / "scene" / "RGB_small.tif", "--out",
                                     w / "p.tif"], lambda w: w / "model.onnx"),
    Command("suggest", lambda w, m: ["suggest", "--model", m, "--data", w / "dataset", "--out", w / "s.json"],
            lambda w: w / "model.onnx"),
]
ONNX_ROWS = [(c, d) for c in ONNX_COMMANDS for d in ONNX_DAMAGES]


@pytest.mark.parametrize("command,damage", ONNX_ROWS, ids=[f"{c.id}-{d.id}" for c, d in ONNX_ROWS])
def test_a_broken_onnx_model_is_refused_in_one_line(command: Command, damage: Damage, inputs: Path, run_cli):
    target = command.target(inputs)
    damage.apply(target)
    before = snapshot(inputs)
    result = run_cli(*command.argv(inputs, target), "--json")
    line = assert_one_line_error(result, damage.message)
    assert target.name in line, line
    assert_unchanged(before, snapshot(inputs))
