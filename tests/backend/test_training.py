"""Training, fine-tuning and evaluation on a real (tiny) dataset of the Denmark scene."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from qgis_noisyseg.backend.checkpoint import load_checkpoint, save_checkpoint
from qgis_noisyseg.backend.data import TileDataset
from qgis_noisyseg.backend.distributed import DistributedContext
from qgis_noisyseg.backend.models import build_model
from qgis_noisyseg.backend.run_folder import RunFolder
from qgis_noisyseg.backend.training import Progress, SegmentationTrainer, TrainOptions
from qgis_noisyseg.cli import build_parser, main
from qgis_noisyseg.core.dataset import Dataset
from qgis_noisyseg.core.errors import Cancelled, UserError
from qgis_noisyseg.core.progress import Reporter
from tests.conftest import REPO, assert_user_error, sigterm_at_first_progress

TINY = ["--base-width", "8", "--batch-size", "4", "--device", "cpu"]


@pytest.fixture(scope="session")
def clean_dataset(denmark_2016):
    return denmark_2016


@pytest.fixture(scope="session")
def pretrained(clean_dataset, tmp_path_factory):
    """A one-epoch noisy pretraining run on 12 tiles' worth of batches."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("runs") / "pretrain"
    assert noisyseg("pretrain", "--data", clean_dataset, "--out", out, "--epochs", "1", *TINY) == 0
    return out


def noisyseg(*args) -> int:
    return main(str(a) for a in args)


def encoder_state(state_dict):
    return {k: v for k, v in state_dict.items() if k.startswith("encoder.")}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_model_overfits_a_few_real_tiles(clean_dataset, tmp_path):
    dataset = Dataset(clean_dataset)
    tiles = [t for t in dataset.split("train") if t["labeled_fraction"] > 0.5][:2]
    stats = dataset.manifest["band_stats"]
    data = TileDataset(dataset, tiles, stats["mean"], stats["std"])
    config = {"encoder": "resnet18", "decoder": "unet", "in_channels": 3, "num_classes": 7, "base_width": 8}
    torch.manual_seed(0)
    options = TrainOptions(epochs=60, batch_size=2, lr=1e-2, weight_decay=0.0, seed=0)
    trainer = SegmentationTrainer(build_model(config), data, data, 7, options, options.epochs, run=RunFolder(tmp_path),
                                  reporter=Reporter(quiet=True), device=torch.device("cpu"),
                                  context=DistributedContext(), config=config, progress=Progress("supervised"))
    progress = trainer.fit()
    assert max(h["val_miou"] for h in progress.history) > 0.8
    assert progress.history[-1]["loss"] < progress.history[0]["loss"] / 3
    assert load_checkpoint(tmp_path / "model.pt")["config"]["progress"]["best_score"] > 0.8


def test_pretrain_writes_the_run_folder(pretrained):
    assert {"model.pt", "last.pt", "config.json", "history.json", "curves.png", "command.txt"} <= {
        p.name for p in pretrained.iterdir()}
    config = load_checkpoint(pretrained / "model.pt")["config"]
    assert config["pretraining"] == "noisy" and config["in_channels"] == 3 and config["num_classes"] == 7
    assert len(config["normalization"]["mean"]) == 3 and config["history"][0]["epoch"] == 1
    assert (pretrained / "command.txt").read_text().startswith("noisyseg pretrain --data")


def test_cpu_training_is_reproducible(clean_dataset, tmp_path):
    for name in ("a", "b"):
        assert noisyseg("finetune", "--data", clean_dataset, "--init", "none", "--out", tmp_path / name, "--epochs", "1",
                     "--max-tiles", "8", *TINY) == 0
    history = [json.loads((tmp_path / name / "history.json").read_text()) for name in ("a", "b")]
    assert [h["loss"] for h in history[0]] == [h["loss"] for h in history[1]]
    assert_same(torch.load(tmp_path / "a" / "model.pt")["state_dict"], torch.load(tmp_path / "b" / "model.pt")["state_dict"])


def test_finetune_transfers_the_encoder_and_starts_a_new_head(pretrained, clean_dataset, tmp_path):
    assert noisyseg("finetune", "--data", clean_dataset, "--init", pretrained / "model.pt", "--out", tmp_path / "ft",
                 "--transfer", "encoder", "--epochs", "0", *TINY) == 0
    before = load_checkpoint(pretrained / "model.pt")["state_dict"]
    after = load_checkpoint(tmp_path / "ft" / "model.pt")["state_dict"]
    assert_same(encoder_state(after), encoder_state(before))
    heads = [k for k in after if k.startswith("head.") and k.endswith("weight")]
    assert heads and all(not torch.equal(after[k], before[k]) for k in heads)


def test_auto_transfer_keeps_the_whole_model_when_the_classes_are_the_same(pretrained, clean_dataset, tmp_path):
    assert noisyseg("finetune", "--data", clean_dataset, "--init", pretrained / "model.pt", "--out", tmp_path / "ft",
                    "--epochs", "0", *TINY) == 0
    before = load_checkpoint(pretrained / "model.pt")["state_dict"]
    after = load_checkpoint(tmp_path / "ft" / "model.pt")
    assert after["config"]["transfer"] == "all"
    assert_same(after["state_dict"], before)


def test_auto_transfer_takes_the_encoder_for_a_new_class_set():
    from qgis_noisyseg.commands.finetune import resolve_transfer

    old = [{"id": 0, "name": "background"}, {"id": 1, "name": "field"}]
    new = [{"id": 0, "name": "background"}, {"id": 1, "name": "wheat"}, {"id": 2, "name": "barley"}]
    assert resolve_transfer("auto", old, old, decoder_changes=False) == "all"
    assert resolve_transfer("auto", old, new, decoder_changes=False) == "encoder"
    assert resolve_transfer("auto", old, old, decoder_changes=True) == "encoder"
    assert resolve_transfer("encoder+decoder", old, new, decoder_changes=False) == "encoder+decoder"
    assert resolve_transfer("auto", old, old, decoder_changes=False, pretraining="simclr") == "encoder"


def test_frozen_encoder_is_unchanged_by_finetuning(pretrained, clean_dataset, tmp_path):
    assert noisyseg("finetune", "--data", clean_dataset, "--init", pretrained / "model.pt", "--out", tmp_path / "ft",
                 "--freeze", "encoder", "--epochs", "1", "--max-tiles", "8", *TINY) == 0
    before = load_checkpoint(pretrained / "model.pt")["state_dict"]
    after = load_checkpoint(tmp_path / "ft" / "last.pt")["state_dict"]
    assert_same(encoder_state(after), encoder_state(before))
    assert any(not torch.equal(after[k], before[k]) for k in after if k.startswith("decoder."))


class CancelAfterEpoch(Reporter):
    def __init__(self, epoch: int) -> None:
        super().__init__(quiet=True)
        self.stop_after = epoch

    def emit(self, event, **fields):
        if event == "epoch" and fields["epoch"] == self.stop_after:
            self.cancel.cancel("test")


def test_resume_continues_the_same_history(clean_dataset, tmp_path, run_cli):
    from qgis_noisyseg.commands import pretrain

    argv = ["pretrain", "--data", str(clean_dataset), "--out", str(tmp_path / "run"), "--epochs", "3", *TINY]
    args = build_parser().parse_args(argv)
    args.command_line = ["noisyseg", *argv]
    with pytest.raises(Cancelled):
        pretrain.run(args, CancelAfterEpoch(1))
    assert load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 1
    result = run_cli(*argv, "--resume")
    assert result.code == 0, result.err
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert load_checkpoint(tmp_path / "run" / "last.pt")["epoch"] == 3


def test_simclr_then_noisy_keeps_both_phases(clean_dataset, tmp_path):
    assert noisyseg("pretrain", "--data", clean_dataset, "--out", tmp_path / "run", "--method", "simclr+noisy",
                 "--simclr-epochs", "1", "--epochs", "1", *TINY) == 0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [(h["phase"], h["epoch"]) for h in history] == [("simclr", 1), ("supervised", 1)]
    assert load_checkpoint(tmp_path / "run" / "model.pt")["config"]["pretraining"] == "simclr+noisy"


def test_simclr_checkpoint_is_a_segmentation_model(clean_dataset, tmp_path):
    assert noisyseg("pretrain", "--data", clean_dataset, "--out", tmp_path / "run", "--method", "simclr", "--epochs", "1", *TINY) == 0
    checkpoint = load_checkpoint(tmp_path / "run" / "model.pt")
    assert checkpoint["config"]["pretraining"] == "simclr"
    build_model(checkpoint["config"]).load_state_dict(checkpoint["state_dict"])


def test_evaluate_reports_metrics(pretrained, clean_dataset, run_cli):
    result = run_cli("evaluate", "--model", pretrained / "model.pt", "--data", clean_dataset, "--json")
    assert result.code == 0, result.err
    outputs = result.events()[-1]["outputs"]
    assert len(outputs["per_class"]) == 7
    cm = outputs["confusion_matrix"]
    assert sum(map(sum, cm)) == outputs["pixels"] > 0
    ious = [cm[c][c] / (sum(cm[c]) + sum(row[c] for row in cm) - cm[c][c]) for c in range(len(cm))
            if sum(cm[c]) + sum(row[c] for row in cm) > 0]  # classes absent from both are left out
    assert outputs["miou"] == pytest.approx(sum(ious) / len(ious))
    assert set(outputs["excluded_from_miou"]) <= {c["name"] for c in outputs["per_class"]}


class WritesMarker:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (shutil.copyfile, (str(REPO / "README.md") if (REPO / "README.md").exists() else __file__, self.marker))


def test_unsafe_checkpoint_is_refused_and_not_unpickled(tmp_path, clean_dataset, run_cli):
    marker = tmp_path / "unpickled"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "noisyseg-checkpoint", "format_version": 1, "config_json": "{}",
                "state_dict": {}, "payload": WritesMarker(str(marker))}, evil)
    with pytest.raises(UserError, match="not a safe checkpoint"):
        load_checkpoint(evil)
    assert_user_error(run_cli("evaluate", "--model", evil, "--data", clean_dataset), "not a safe checkpoint")
    assert_user_error(run_cli("finetune", "--init", evil, "--data", clean_dataset, "--out", tmp_path / "ft"), "not a safe checkpoint")
    assert not marker.exists()
    torch.load(evil, weights_only=False)  # the payload is real: an unsafe load does write the marker
    assert marker.exists()


def test_checkpoint_round_trip_is_weights_only(tmp_path):
    model = build_model({"encoder": "resnet18", "decoder": "fpn", "in_channels": 2, "num_classes": 3, "base_width": 8})
    save_checkpoint(tmp_path / "m.pt", model.state_dict(), {"a": [1, 2]}, epoch=4)
    checkpoint = torch.load(tmp_path / "m.pt", weights_only=True)
    assert checkpoint["format"] == "noisyseg-checkpoint" and checkpoint["epoch"] == 4
    assert load_checkpoint(tmp_path / "m.pt")["config"] == {"a": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]



def test_distributed_pretraining_with_two_gloo_processes(clean_dataset, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
         "-m", "qgis_noisyseg", "pretrain", "--data", str(clean_dataset), "--out", str(out), "--epochs", "1", *TINY],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = load_checkpoint(out / "model.pt")
    assert not any(k.startswith("module.") for k in checkpoint["state_dict"])
    assert "2 processes" in result.stderr


def test_sigterm_mid_pretrain_leaves_a_resumable_last_checkpoint(clean_dataset, tmp_path):
    out = tmp_path / "run"
    result = sigterm_at_first_progress("pretrain", "--data", clean_dataset, "--out", out, "--epochs", "50", *TINY,
                                       env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=60)
    assert result.code == 130
    assert '"cancelled"' in result.out
    checkpoint = load_checkpoint(out / "last.pt")
    assert checkpoint["epoch"] == 0 and "optimizer" in checkpoint
    assert noisyseg("pretrain", "--data", clean_dataset, "--out", out, "--epochs", "1", "--resume", *TINY) == 0
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1]


# Bad inputs: exit 2, one line on stderr.

def test_missing_dataset(run_cli, tmp_path):
    assert_user_error(run_cli("pretrain", "--data", tmp_path / "nope", "--out", tmp_path / "run"), "does not exist")


def test_empty_dataset(run_cli, clean_dataset, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    manifest = json.loads((clean_dataset / "manifest.json").read_text())
    (empty / "manifest.json").write_text(json.dumps({**manifest, "tiles": []}))
    assert_user_error(run_cli("pretrain", "--data", empty, "--out", tmp_path / "run"), "no train tiles")


def test_dataset_without_labelled_pixels(run_cli, clean_dataset, tmp_path):
    unlabelled = tmp_path / "unlabelled"
    shutil.copytree(clean_dataset, unlabelled)  # the tiles too: a manifest alone is refused (missing tiles)
    manifest = json.loads((clean_dataset / "manifest.json").read_text())
    tiles = [{**t, "class_histogram": {}} for t in manifest["tiles"]]
    (unlabelled / "manifest.json").write_text(json.dumps({**manifest, "tiles": tiles}))
    assert_user_error(run_cli("pretrain", "--data", unlabelled, "--out", tmp_path / "run"), "no labelled pixels")


def test_band_count_mismatch(run_cli, clean_dataset, tmp_path):
    config = {"encoder": "resnet18", "decoder": "unet", "in_channels": 4, "num_classes": 7, "base_width": 8}
    save_checkpoint(tmp_path / "m.pt", build_model(config).state_dict(), config)
    assert_user_error(run_cli("finetune", "--init", tmp_path / "m.pt", "--data", clean_dataset, "--out", tmp_path / "ft"),
                      "4 bands", "has 3")
    assert_user_error(run_cli("evaluate", "--model", tmp_path / "m.pt", "--data", clean_dataset), "4 bands")


def test_max_tiles_larger_than_available(run_cli, clean_dataset, tmp_path):
    assert_user_error(run_cli("finetune", "--init", "none", "--data", clean_dataset, "--out", tmp_path / "ft",
                              "--max-tiles", "100000"), "--max-tiles 100000")


def test_tiles_with_trains_only_on_tiles_showing_the_class(run_cli, clean_dataset, tmp_path):
    manifest = json.loads((clean_dataset / "manifest.json").read_text())
    classes = {c["id"]: c["name"] for c in manifest["classes"]}
    train = [t for t in manifest["tiles"] if t["split"] == "train"]
    rare = min((i for i in classes if i), key=lambda i: sum(str(i) in t["class_histogram"] for t in train))
    showing = {t["id"] for t in train if t["class_histogram"].get(str(rare), 0) > 0}
    assert 0 < len(showing) < len(train)
    result = run_cli("finetune", "--init", "none", "--data", clean_dataset, "--out", tmp_path / "ft", "--base-width", "8",
                     "--epochs", "1", "--max-tiles", "1", "--tiles-with", classes[rare])
    assert result.code == 0, result.err
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert config["tiles_with"] == rare and set(config["train_tiles"]) <= showing
    assert_user_error(run_cli("finetune", "--init", "none", "--data", clean_dataset, "--out", tmp_path / "ft2",
                              "--tiles-with", "volcano"), "--tiles-with 'volcano' is not a class")
    assert not (tmp_path / "ft2").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_cuda_asked_for_but_absent(run_cli, clean_dataset, tmp_path):
    assert_user_error(run_cli("pretrain", "--data", clean_dataset, "--out", tmp_path / "run", "--device", "cuda"),
                      "no CUDA")
    assert not (tmp_path / "run").exists()


def test_out_exists_without_overwrite_or_resume(run_cli, clean_dataset, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    assert_user_error(run_cli("pretrain", "--data", clean_dataset, "--out", tmp_path / "run"), "already exists")
    assert_user_error(run_cli("pretrain", "--data", clean_dataset, "--out", tmp_path / "other", "--resume"), "cannot resume")
