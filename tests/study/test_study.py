"""`noisyseg study`: each study runs end to end with tiny settings (Denmark, 64 px tiles, base
width 8, one epoch, K=2, one seed), writes its csv, png and report, skips finished runs when
rerun, resumes a cancelled run; "clean tiles saved" on hand-made curves; bad input."""

from __future__ import annotations

import csv
import json
import math

import pytest

from qgis_noisyseg.core.errors import Cancelled
from qgis_noisyseg.core.progress import Reporter
from qgis_noisyseg.study import plots
from qgis_noisyseg.study.settings import TrainingSettings
from qgis_noisyseg.study.label_efficiency import clean_tiles_saved, run_label_efficiency, tiles_to_reach
from tests.conftest import DENMARK, assert_user_error
from tests.torch_threads import single_thread  # noqa: F401  (autouse)

TINY = ["--epochs", "1", "--pretrain-epochs", "1", "--base-width", "8", "--batch-size", "8", "--device", "cpu"]


@pytest.fixture(scope="module")
def denmark(tmp_path_factory):
    """The old incomplete map (noisy) and the 2016 map (clean) on one 64 px grid."""
    from qgis_noisyseg.core.export import export_dataset

    root = tmp_path_factory.mktemp("denmark")
    for name, labels in (("noisy", "marker_small_c31bc47.shp"), ("clean", "marker2016_small.shp")):
        export_dataset(DENMARK / "RGB_small.tif", [str(DENMARK / labels)], root / name, field="AfgKode",
                       classes=DENMARK / "classes.json", tile=64, reporter=Reporter(quiet=True))
    return root


def done_outputs(result) -> dict:
    assert result.code == 0, result.err
    return [e for e in result.events() if e["event"] == "done"][0]["outputs"]


def read_rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def result_mtimes(study) -> dict:
    return {p: p.stat().st_mtime_ns for p in study.glob("*/*/*.json") if p.name in ("result.json", "pretrained.json")}


def check_rerun_skips(run_cli, argv: list, study, runs: int) -> None:
    rows, mtimes = read_rows(study / "results.csv"), result_mtimes(study)
    assert len(mtimes) == runs
    outputs = done_outputs(run_cli(*argv, "--json"))
    assert (outputs["runs"], outputs["ran"], outputs["skipped"]) == (runs, 0, runs)
    assert read_rows(study / "results.csv") == rows
    assert result_mtimes(study) == mtimes
    text = run_cli(*argv)
    assert text.code == 0 and text.err.count("skip ") == runs and f"skipped: {runs}" in text.out


def test_label_efficiency_runs_writes_and_skips_when_rerun(run_cli, denmark, tmp_path):
    study = tmp_path / "le"
    argv = ["study", "label-efficiency", "--noisy", denmark / "noisy", "--clean", denmark / "clean",
            "--test", denmark / "clean", "--k", "2", "--inits", "scratch,noisy,simclr,simclr+noisy", "--seeds", "1",
            "--out", study, *TINY]
    outputs = done_outputs(run_cli(*argv, "--json"))
    assert (outputs["runs"], outputs["ran"], outputs["skipped"]) == (7, 7, 0)
    rows = read_rows(study / "results.csv")
    assert [(r["init"], r["k"], r["seed"]) for r in rows] == [
        ("scratch", "2", "0"), ("noisy", "2", "0"), ("simclr", "2", "0"), ("simclr+noisy", "2", "0")]
    assert all(0 <= float(r["miou"]) <= 1 and float(r["seconds"]) > 0 for r in rows)
    assert {"iou_background", "iou_spring_cereals", "run"} <= set(rows[0])
    assert (study / "label_efficiency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (study / "report.md").read_text(encoding="utf-8")
    assert "## Clean tiles saved" in report and "| simclr+noisy |" in report
    assert len(outputs["clean_tiles_saved"]) == 3
    assert (study / "runs" / "noisy_k2_s0" / "command.txt").read_text().startswith("noisyseg finetune --data")
    check_rerun_skips(run_cli, argv, study, runs=7)
    by_class = done_outputs(run_cli(*argv, "--metric", "iou:grass and clover", "--json"))
    assert (by_class["ran"], by_class["skipped"]) == (0, 7)
    grass = {r["init"]: float(r["iou_grass_and_clover"]) for r in read_rows(study / "results.csv")}
    assert by_class["curves"]["noisy"]["2"] == pytest.approx(grass["noisy"], abs=1e-5)
    assert "| init | K | mean grass and clover IoU |" in (study / "report.md").read_text(encoding="utf-8")


def test_noise_study_runs_writes_and_skips_when_rerun(run_cli, denmark, tmp_path):
    study = tmp_path / "noise"
    argv = ["study", "noise", "--clean", denmark / "clean", "--test", denmark / "clean", "--rates", "0,0.4",
            "--kinds", "remove,flip", "--k", "2", "--seeds", "1", "--out", study, *TINY]
    outputs = done_outputs(run_cli(*argv, "--json"))
    assert (outputs["runs"], outputs["ran"]) == (7, 7)  # 3 pretrainings, 3 fine-tunings, scratch
    rows = read_rows(study / "results.csv")
    assert sorted((r["init"], r["kind"], r["rate"]) for r in rows) == [
        ("pretrained", "flip", "0.4"), ("pretrained", "none", "0.0"), ("pretrained", "remove", "0.4"),
        ("scratch", "", "")]
    corrupted = json.loads((study / "datasets" / "remove_r0.4" / "manifest.json").read_text())["noise"]
    assert corrupted["kinds"] == ["remove"] and corrupted["rate"] == 0.4 and corrupted["touched"]["remove"] > 0
    assert (study / "noise_sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    assert "Scratch on the same K clean tiles" in (study / "report.md").read_text(encoding="utf-8")
    assert set(outputs["curves"]) == {"remove", "flip"} and set(outputs["curves"]["flip"]) == {"0", "0.4"}
    check_rerun_skips(run_cli, argv, study, runs=7)


def test_transfer_study_runs_writes_and_skips_when_rerun(run_cli, denmark, tmp_path):
    study = tmp_path / "transfer"
    argv = ["study", "transfer", "--noisy", denmark / "noisy", "--clean", denmark / "clean", "--test",
            denmark / "clean", "--k", "2", "--seeds", "1", "--decoders", "fpn", "--coarse-classes",
            "cereals=1,2;grass=4,5", "--out", study, *TINY]
    outputs = done_outputs(run_cli(*argv, "--json"))
    # 2 pretrainings; 7 conditions; scratch with unet, fpn and a frozen unet encoder
    assert (outputs["runs"], outputs["ran"]) == (12, 12)
    assert set(outputs["conditions"]) == {"unet_all", "unet_encoder", "fpn_encoder", "coarse_encoder",
                                          "coarse_encoder_decoder", "frozen_all", "frozen_encoder"}
    coarse = json.loads((study / "datasets" / "noisy_coarse" / "manifest.json").read_text())
    assert [c["name"] for c in coarse["classes"]] == ["background", "cereals", "grass", "maize", "other crops"]
    noisy = json.loads((denmark / "noisy" / "manifest.json").read_text())
    for before, after in zip(noisy["tiles"], coarse["tiles"]):
        assert sum(after["class_histogram"].values()) == sum(before["class_histogram"].values())
        assert after["class_histogram"].get("1", 0) == sum(before["class_histogram"].get(k, 0) for k in ("1", "2"))
    config = json.loads((study / "runs" / "fpn_encoder_s0" / "config.json").read_text())
    assert (config["decoder"], config["transfer"]) == ("fpn", "encoder")
    frozen = json.loads((study / "runs" / "frozen_all_s0" / "config.json").read_text())
    assert (frozen["transfer"], frozen["freeze"]) == ("all", "encoder")
    rows = read_rows(study / "results.csv")
    assert len(rows) == 10 and {r["init"] for r in rows} == {"scratch", "pretrained (unet)", "pretrained (coarse)"}
    assert (study / "transfer.png").read_bytes()[:4] == b"\x89PNG"
    assert "coarse -> full classes, encoder+decoder" in (study / "report.md").read_text(encoding="utf-8")
    check_rerun_skips(run_cli, argv, study, runs=12)


class CancelAtRun(Reporter):
    """Cancels the study once the given run reports its first training batch."""

    def __init__(self, run_name: str) -> None:
        super().__init__(quiet=True)
        self.run_name = run_name

    def progress(self, stage, done, total, **extra):
        if extra.get("run") == self.run_name and extra.get("step") == "train":
            self.cancel.cancel("test")
        super().progress(stage, done, total, **extra)


def test_a_cancelled_study_resumes_where_it_stopped(denmark, tmp_path):
    settings = TrainingSettings(epochs=2, pretrain_epochs=1, base_width=8, device="cpu")
    common = dict(noisy=denmark / "noisy", clean=denmark / "clean", test=denmark / "clean", out=tmp_path / "le",
                  ks="2", inits="scratch,noisy", seeds=1, settings=settings)
    with pytest.raises(Cancelled):
        run_label_efficiency(**common, reporter=CancelAtRun("noisy_k2_s0"))
    interrupted = tmp_path / "le" / "runs" / "noisy_k2_s0"
    assert (interrupted / "last.pt").is_file() and not (interrupted / "result.json").exists()
    assert not (tmp_path / "le" / "results.csv").exists()
    messages = []
    reporter = Reporter(quiet=True)
    reporter.info = lambda message, **extra: messages.append(message)
    outputs = run_label_efficiency(**common, reporter=reporter)
    assert (outputs["runs"], outputs["ran"], outputs["skipped"]) == (3, 1, 2)
    assert any(m.startswith("noisy_k2_s0: resuming from") for m in messages)
    history = json.loads((interrupted / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert len(read_rows(tmp_path / "le" / "results.csv")) == 2


def test_tiles_to_reach_interpolates_on_the_mean_curve():
    curve = {2: 0.10, 4: 0.20, 8: 0.30, 16: 0.25, 44: 0.40}
    assert tiles_to_reach(curve, 0.15) == (pytest.approx(3.0), "exact")
    assert tiles_to_reach(curve, 0.30) == (pytest.approx(8.0), "exact")
    assert tiles_to_reach(curve, 0.35) == (pytest.approx(16 + 0.10 / 0.15 * 28), "exact")  # crossed after the dip
    assert tiles_to_reach(curve, 0.05) == (2.0, "at most")
    assert tiles_to_reach(curve, 0.41) == (None, "not reached")


def test_clean_tiles_saved_on_a_hand_made_table():
    means = {"scratch": {2: 0.10, 4: 0.14, 8: 0.20, 16: 0.24, 44: 0.26},
             "noisy": {2: 0.17, 4: 0.22, 8: 0.25, 16: 0.30, 44: 0.31},
             "simclr": {2: 0.09, 4: 0.16, 8: 0.20, 16: 0.22, 44: 0.26}}
    rows = {(r["init"], r["tiles"]): r for r in clean_tiles_saved(means)}
    assert len(rows) == 10
    assert rows["noisy", 2]["scratch_tiles"] == pytest.approx(6.0)  # 4 + (0.17 - 0.14) / 0.06 * 4
    assert rows["noisy", 2]["saved"] == pytest.approx(4.0)
    assert rows["noisy", 4]["scratch_tiles"] == pytest.approx(12.0)
    assert rows["noisy", 4]["saved"] == pytest.approx(8.0)
    assert rows["noisy", 8]["scratch_tiles"] == pytest.approx(30.0)  # 16 + (0.25 - 0.24) / 0.02 * 28
    assert rows["noisy", 8]["saved"] == pytest.approx(22.0)
    for tiles in (16, 44):
        assert rows["noisy", tiles]["saved"] is None
        assert rows["noisy", tiles]["text"].startswith("not reached within the K tried")
    assert rows["simclr", 2]["bound"] == "at most" and rows["simclr", 2]["saved"] == 0
    assert rows["simclr", 2]["text"].startswith("none: scratch reaches it already with 2 tiles")
    assert rows["simclr", 4]["scratch_tiles"] == pytest.approx(16 / 3)
    assert rows["simclr", 16]["saved"] == 0 and rows["simclr", 16]["text"].startswith("none")
    assert clean_tiles_saved({"noisy": means["noisy"]}) == []


@pytest.mark.parametrize("extra, fragment", [
    (["--k", "2,45"], "--k 45 is more than the 44 train tiles"),
    (["--k", "two"], "--k takes tile counts and 'all'"),
    (["--inits", "scratch,imagenet"], "--inits: unknown 'imagenet'"),
    (["--seeds", "0"], "--seeds must be at least 1"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--metric", "iou:roads"], "--metric takes miou or iou:CLASS"),
    (["--tiles-with", "volcano"], "--tiles-with 'volcano' is not a class"),
])
def test_bad_label_efficiency_input_is_one_line_exit_2(run_cli, denmark, tmp_path, extra, fragment):
    result = run_cli("study", "label-efficiency", "--noisy", denmark / "noisy", "--clean", denmark / "clean",
                     "--test", denmark / "clean", "--out", tmp_path / "study", *TINY, *extra)
    assert_user_error(result, fragment)
    assert not (tmp_path / "study").exists()


def test_bad_study_input_is_one_line_exit_2(run_cli, denmark, tmp_path):
    assert_user_error(run_cli("study", "noise", "--clean", tmp_path / "missing", "--test", denmark / "clean",
                              "--out", tmp_path / "s1"), "--clean", "does not exist")
    assert_user_error(run_cli("study", "noise", "--clean", denmark / "clean", "--test", denmark / "clean",
                              "--kinds", "remove,smear", "--out", tmp_path / "s2"), "--kinds: unknown 'smear'")
    assert_user_error(run_cli("study", "noise", "--clean", denmark / "clean", "--test", denmark / "clean",
                              "--rates", "0,1.5", "--out", tmp_path / "s3"), "--rates values must be between 0 and 1")
    assert_user_error(run_cli("study", "transfer", "--noisy", denmark / "noisy", "--clean", denmark / "clean",
                              "--test", denmark / "clean", "--coarse-classes", "cereals=1,9", "--out", tmp_path / "s4"),
                      "--coarse-classes: 9 is not a non-background class id")
    assert_user_error(run_cli("study", "transfer"), "the following arguments are required")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    assert_user_error(run_cli("study", "noise", "--clean", denmark / "clean", "--test", denmark / "clean",
                              "--out", occupied), "is not a study folder")
    assert (occupied / "notes.txt").exists()


def test_rerun_with_other_settings_is_refused(run_cli, denmark, tmp_path):
    argv = ["study", "label-efficiency", "--noisy", denmark / "noisy", "--clean", denmark / "clean", "--test",
            denmark / "clean", "--k", "2", "--inits", "scratch", "--seeds", "1", "--out", tmp_path / "le", *TINY]
    assert run_cli(*argv).code == 0
    assert_user_error(run_cli(*argv, "--lr", "0.01"), "was run with other settings (lr: 0.001 there, 0.01 now)")
    outputs = done_outputs(run_cli(*argv, "--lr", "0.01", "--overwrite", "--json"))
    assert (outputs["ran"], outputs["skipped"]) == (1, 0)


def test_label_efficiency_plot_draws_the_pretrained_models_as_references(tmp_path):
    stats = {2: {"mean": 0.1, "min": 0.05, "max": 0.15}, 8: {"mean": 0.2, "min": 0.18, "max": 0.22}}
    figure = plots.plot_label_efficiency({"scratch": stats, "noisy": stats}, {2: "2", 8: "8"}, tmp_path / "le.png",
                                         "t", references={"noisy": 0.172, "scratch": math.nan})
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    reference = lines["noisy, not fine-tuned"]
    assert reference.get_linestyle() == ":" and list(reference.get_ydata()) == [0.172, 0.172]
    assert reference.get_color() == lines["noisy"].get_color()
    assert "scratch, not fine-tuned" not in lines and (tmp_path / "le.png").is_file()


def test_min_steps_gives_small_k_more_epochs():
    settings = TrainingSettings(epochs=60, batch_size=8, min_steps=300)
    assert [settings.finetune_epochs(k) for k in (2, 8, 9, 16, 44)] == [300, 300, 150, 150, 60]
    assert TrainingSettings(epochs=60).finetune_epochs(2) == 60
    argv = settings.finetune_argv("clean", None, 2, 0, 2)
    assert argv[argv.index("--epochs") + 1] == "300" and argv[argv.index("--max-tiles") + 1] == "2"


def test_training_settings_reach_the_commands():
    settings = TrainingSettings(pretrain_loss="bootstrap", class_weights=True, patience=5)
    pretrain = settings.pretrain_argv("noisy", "noisy")
    assert pretrain[pretrain.index("--loss") + 1] == "bootstrap" and "--class-weights" in pretrain
    finetune = settings.finetune_argv("clean", "model.pt", "all", 1, 44, decoder="fpn")
    assert "--loss" not in finetune and "--max-tiles" not in finetune and "--class-weights" in finetune
    assert finetune[finetune.index("--patience") + 1] == "5" and finetune[finetune.index("--decoder") + 1] == "fpn"
    drawn = TrainingSettings(tiles_with="building").finetune_argv("clean", None, 8, 0, 8)
    assert drawn[drawn.index("--tiles-with") + 1] == "building" and drawn[drawn.index("--max-tiles") + 1] == "8"
    assert "--tiles-with" not in TrainingSettings(tiles_with="building").finetune_argv("clean", None, "all", 0, 44)
