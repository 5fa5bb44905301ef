"""The spec (qgis_noisyseg/spec): every command's options declared once, and what is derived
from it: the argparse subparsers, one-line validation, the argv for the subprocess, typed
results. tests/qgis/test_parity.py checks the Processing algorithms and the panel against it."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest

from qgis_noisyseg import cli
from qgis_noisyseg.spec import choices as C
from qgis_noisyseg.spec.arguments import argument_kwargs, check_namespace
from qgis_noisyseg.spec.commands import (BUNDLED_DATA, COMMANDS, EXPORT_MAX_TILES, PREDICT_MAX_TILES, STUDIES,
                                         CleanOptions, EvaluateOptions, ExportOptions, FinetuneOptions, PredictOptions,
                                         PretrainOptions, command_argv)
from qgis_noisyseg.spec.fields import SpecError, option_named, options_of, to_argv
from qgis_noisyseg.spec.results import Event, ExportResult, TrainingResult

BEFORE = json.loads((Path(__file__).parent / "cli_flags_before_spec.json").read_text())
ALL_SPECS = {**COMMANDS, **{f"study {kind}": spec for kind, spec in STUDIES.items()}}


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = {}
    for name, command in sub.choices.items():
        if name == "study":
            kinds = next(a for a in command._actions if isinstance(a, argparse._SubParsersAction))
            found.update({f"study {kind}": p for kind, p in kinds.choices.items()})
        else:
            found[name] = command
    return found


PARSERS = subparsers()


def actions(parser: argparse.ArgumentParser) -> dict:
    return {a.option_strings[0]: a for a in parser._actions if a.option_strings and a.option_strings[0] != "-h"}


# Defaults changed on purpose since that file was written: chosen by benchmarks/bench_quality.py
# (docs/results.md, "Cross-scene quality"), and only these.
CHOSEN_SINCE = {("pretrain", "--normalization"): {"default": "'image'"},
                ("finetune", "--normalization"): {"default": "'image'"},
                ("finetune", "--encoder-lr-scale"): {"default": "0.1"},
                ("finetune", "--warmup"): {"default": "0.1"},
                ("pretrain", "--loss"): {"default": "'ce+dice'"},
                **{(f"study {kind}", "--pretrain-loss"): {"default": "'ce+dice'"}
                   for kind in ("label-efficiency", "noise", "transfer")}}


@pytest.mark.parametrize("command", sorted(BEFORE))
def test_every_flag_from_before_the_spec_parses_as_it_did(command):
    """tests/cli_flags_before_spec.json is the argparse of every command as it was written by
    hand before the spec (main at 6f6db2a): each flag keeps its dest, default, type, choices,
    arity and whether it is required."""
    now = actions(PARSERS[command])
    for flag, before in BEFORE[command].items():
        action = now.get(flag)
        assert action is not None, f"{command} lost {flag}"
        before = {**before, **CHOSEN_SINCE.get((command, flag), {})}
        default = "BUNDLED_DATA" if action.default == str(BUNDLED_DATA) else repr(action.default)
        choices = list(action.choices or []) or None
        if before["choices"] and choices:  # a choice may be added after the old ones, none removed or moved
            choices = choices[:len(before["choices"])]
        assert (action.dest, default, getattr(action.type, "__name__", None), choices,
                action.required, action.nargs, type(action).__name__) == \
            (before["dest"], before["default"], before["type"], before["choices"], before["required"],
             before["nargs"], before["action"]), flag


@pytest.mark.parametrize("command", sorted(ALL_SPECS))
def test_every_spec_option_is_an_argument_with_the_spec_s_default_and_choices(command):
    now = actions(PARSERS[command])
    spec = ALL_SPECS[command]
    assert set(now) - {"--json"} == {option.flag for option in options_of(spec)}
    for option in options_of(spec):
        action, expected = now[option.flag], argument_kwargs(option)
        assert action.dest == option.dest
        assert action.default == (False if option.type is bool else None if option.repeat else option.default)
        assert tuple(action.choices or ()) == tuple(option.choices)
        assert action.required == option.required
        assert (action.type or str) in (option.type, str) and expected["help"] in (action.help or "").replace("%%", "%")


def test_every_command_of_the_cli_has_a_spec():
    assert set(cli.COMMANDS) == set(COMMANDS) | {"study"}
    assert set(STUDIES) == set(C.STUDY_KINDS)


@pytest.mark.parametrize("command, dest, value, message", [
    ("export", "tile", 100, "--tile must be a multiple of 32 and at least 32 (the encoder halves a tile five times), "
                            "not --tile 100; use 96 or 128"),
    ("export", "tile", 16, "not --tile 16; use 32"),
    ("export", "min_valid", 1.5, "--min-valid must be at least 0 and at most 1, not --min-valid 1.5"),
    ("pretrain", "lr", 0.0, "--lr must be above 0, not --lr 0"),
    ("pretrain", "lr", float("inf"), "--lr must be a finite number, not --lr inf"),
    ("pretrain", "label_smoothing", 1.0, "--label-smoothing must be at least 0 and below 1, not --label-smoothing 1"),
    ("pretrain", "base_width", 4, "--base-width must be at least 8 and at most 128, not --base-width 4"),
    ("pretrain", "tile_size", 33, "--tile-size must be a multiple of 32 and at least 32"),
    ("pretrain", "method", "byol", "--method must be one of noisy, simclr, simclr+noisy, got byol"),
    ("finetune", "encoder_lr_scale", 0.0, "--encoder-lr-scale must be above 0 and at most 1, not --encoder-lr-scale 0"),
    ("finetune", "photometric", 0.6, "--photometric must be at least 0 and at most 0.5, not --photometric 0.6"),
    ("finetune", "warmup", 1.0, "--warmup must be at least 0 and below 1, not --warmup 1"),
    ("predict", "threads", 0, "--threads must be at least 1, not --threads 0"),
    ("predict", "overlap", -1, "--overlap must be at least 0, not --overlap -1"),
    ("export-onnx", "tile", 50, "not --tile 50; use 32 or 64"),
])
def test_a_value_out_of_bounds_is_one_line_naming_the_flag(command, dest, value, message):
    option = option_named(COMMANDS[command], dest)
    with pytest.raises(SpecError) as error:
        option.check(value)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("value", [32, 96, 128, 256])
def test_a_tile_of_a_multiple_of_32_is_taken(value):
    option_named(ExportOptions, "tile").check(value)


def test_a_100_px_tile_is_refused_at_export_in_one_line_and_nothing_is_written(run_cli, tmp_path):
    """Tile constraints are checked where the tile is given, not only when pretrain reads the dataset."""
    result = run_cli("export", "--image", tmp_path / "missing.tif", "--labels", tmp_path / "x.shp", "--tile", "100",
                     "--out", tmp_path / "ds")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err == ("noisyseg export: error: --tile must be a multiple of 32 and at least 32 (the encoder halves "
                          "a tile five times), not --tile 100; use 96 or 128\n")
    assert list(tmp_path.iterdir()) == []


def test_help_names_the_bounds_and_the_default():
    text = PARSERS["export"].format_help()
    assert "a multiple of 32 and at least 32; default 256" in " ".join(text.split())


def example(spec):
    """An instance with every required option given and a few others changed from their defaults."""
    values = {}
    for option in options_of(spec):
        if option.required:
            values[option.dest] = ["a.shp", "b.shp"] if option.repeat else (0.25 if option.type is float else "x")
    for option in options_of(spec):
        if option.dest in values:
            continue
        if option.type is bool:
            values[option.dest] = True
        elif option.choices:
            values[option.dest] = option.choices[-1]
        elif option.type is int and option.default is not None:
            values[option.dest] = int(option.default) + (option.multiple_of or 1)
        elif option.nargs:
            values[option.dest] = [1.0, 2.0, 3.0, 4.0]
    if "resume" in values:
        values["resume"] = False  # with --overwrite it contradicts, which the command (not argparse) refuses
    return spec(**values)


@pytest.mark.parametrize("command", sorted(ALL_SPECS))
def test_the_argv_of_an_options_object_parses_back_to_it(command):
    """What bridge and the studies hand a command is the options object; the argv they build from
    it (to_argv) parses back to the same object, checked."""
    spec = ALL_SPECS[command]
    options = example(spec)
    if command == "study noise":
        options = dataclasses.replace(options, k=9)
    args = cli.parse_command_line([*command.split(), *to_argv(options)])
    assert check_namespace(spec, args) == options == cli.check_arguments(args)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_panel_s_argv_for_an_options_object_names_its_command_and_parses_back_to_it(command):
    """The panel's steps run ``command_argv(options)``: the command, then to_argv's arguments."""
    options = example(COMMANDS[command])
    assert command_argv(options) == [command, *to_argv(options)]
    assert cli.check_arguments(cli.parse_command_line(command_argv(options))) == options


def test_the_panel_s_argv_leaves_out_the_defaults():
    assert command_argv(EvaluateOptions(model="run/model.pt", data="clean", split="test")) == \
        ["evaluate", "--model", "run/model.pt", "--data", "clean"]
    assert command_argv(CleanOptions(data="noisy", labels="c.gpkg:clean_labels", tiles="c.gpkg:tiles", out="clean",
                                     val_fraction=0.0, overwrite=True)) == \
        ["clean", "--data", "noisy", "--labels", "c.gpkg:clean_labels", "--tiles", "c.gpkg:tiles", "--out", "clean",
         "--overwrite", "--val-fraction", "0.0"]


def test_the_backend_s_own_lists_match_the_spec():
    from qgis_noisyseg.backend.losses import LOSSES
    from qgis_noisyseg.backend.models.registry import DECODERS, ENCODERS
    from qgis_noisyseg.core import export
    from qgis_noisyseg.inference import model, sliding

    assert LOSSES == C.LOSSES
    assert tuple(ENCODERS) == C.ENCODERS and tuple(DECODERS) == C.DECODERS
    assert (export.MAX_TILES, sliding.MAX_TILES) == (EXPORT_MAX_TILES, PREDICT_MAX_TILES)
    assert set(model.NORMALIZATION_SCHEMES) == set(C.NORMALIZATIONS)


def test_exit_codes_are_the_spec_s():
    assert (cli.EXIT_USER_ERROR, cli.EXIT_CANCELLED) == (C.EXIT_USER_ERROR, C.EXIT_CANCELLED) == (2, 130)


def test_events_parse_into_typed_objects():
    from io import StringIO

    from qgis_noisyseg.core.progress import Reporter

    stream = StringIO()
    reporter = Reporter(json_lines=True, stream=stream)
    reporter.progress("epoch", 3, 4, loss=0.5)
    reporter.warning("careful")
    reporter.emit("done", outputs={"dataset": "/d", "tiles": 7, "splits": {"train": 5, "val": 1, "test": 1},
                                   "classes": 3})
    events = [Event.parse(line) for line in stream.getvalue().splitlines()]
    assert [e.kind for e in events] == [C.EVENT_PROGRESS, C.EVENT_WARNING, C.EVENT_DONE]
    assert events[0].fraction == 0.75 and events[0].stage == "epoch" and events[1].message == "careful"
    result = ExportResult.from_outputs(events[2].outputs)
    assert (result.tiles, result.split("train"), result.classes, result.manifest) == (7, 5, 3, "/d/manifest.json")
    assert Event.parse("not json") is None and Event.parse("[1, 2]") is None and Event.parse('{"no": 1}') is None


def test_a_training_result_keeps_the_run_s_outputs():
    outputs = {"model": "/r/model.pt", "last": "/r/last.pt", "history": "/r/history.json", "epochs": 2,
               "final_loss": 0.5, "final_val_miou": 0.25, "warnings": []}
    result = TrainingResult.from_outputs(outputs)
    assert result.run_folder == "/r" and result.final_val_miou == 0.25 and result.to_outputs() == outputs


def test_shared_groups_are_declared_once():
    """pretrain and finetune share the training group: the same Option, default apart."""
    for dest in ("batch_size", "lr", "weight_decay", "schedule", "tile_size", "normalization",
                 "photometric", "device", "overwrite", "resume", "out", "data"):
        assert option_named(PretrainOptions, dest) == option_named(FinetuneOptions, dest)
    for dest, pretrain, finetune in (("loss", "ce+dice", "ce"), ("warmup", 0.0, 0.1)):  # chosen by bench-quality
        first, second = option_named(PretrainOptions, dest), option_named(FinetuneOptions, dest)
        assert (first.default, second.default) == (pretrain, finetune)
        assert (first.flag, first.type, first.choices, first.minimum, first.below, first.label) == \
            (second.flag, second.type, second.choices, second.minimum, second.below, second.label)
    assert option_named(PretrainOptions, "epochs").default == 20 and option_named(FinetuneOptions, "epochs").default == 30
    assert option_named(PredictOptions, "device").choices == C.ONNX_DEVICES
