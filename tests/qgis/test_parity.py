"""Parity (issue 13): every option of every command's spec is in argparse (tests/test_spec.py),
in its Processing algorithm or marked CLI-only in the spec, and wherever the panel offers a
step, its widgets start at the spec's default, within its bounds, with its choices."""

from __future__ import annotations

import sys

import pytest
from qgis.core import QgsProcessingParameterDefinition, QgsProcessingParameterNumber, QgsProject
from qgis.PyQt.QtWidgets import QComboBox, QSpinBox

from qgis_noisyseg.processing.provider import ALL_ALGORITHMS
from qgis_noisyseg.spec import choices as C
from qgis_noisyseg.spec.commands import COMMANDS, STUDIES, ExportOptions, FinetuneOptions, PretrainOptions
from qgis_noisyseg.spec.fields import option_named, options_of

WITH_ALGORITHM = {algorithm.command: algorithm for algorithm in ALL_ALGORITHMS}
# The commands that have no Processing algorithm, on purpose: study tools, the panel's own steps, env.
WITHOUT_ALGORITHM = {"analyze", "clean", "corrupt", "demo", "env", "evaluate", "export-onnx"}


def test_every_command_has_an_algorithm_or_is_listed_without_one():
    assert set(COMMANDS) - set(WITH_ALGORITHM) == WITHOUT_ALGORITHM
    assert "suggest" in WITH_ALGORITHM


def initialised(algorithm_class):
    algorithm = algorithm_class()
    algorithm.initAlgorithm()
    return algorithm


@pytest.mark.parametrize("command", sorted(WITH_ALGORITHM))
def test_every_option_is_a_processing_parameter_or_cli_only(qgis_app, command):
    algorithm = initialised(WITH_ALGORITHM[command])
    spec = COMMANDS[command]
    missing = sorted(o.flag for o in options_of(spec) if not o.cli_only and o.dest not in algorithm.covered_options())
    assert missing == [], f"Processing's {command} lacks {missing}"
    offered_but_cli_only = sorted(o.flag for o in options_of(spec) if o.cli_only and
                                  o.dest in {p.dest for p in algorithm.spec_parameters().values()})
    assert offered_but_cli_only == []


@pytest.mark.parametrize("command", sorted(WITHOUT_ALGORITHM))
def test_a_command_without_an_algorithm_marks_every_option_cli_only(command):
    assert [o.flag for o in options_of(COMMANDS[command]) if not o.cli_only] == []


def test_study_options_are_cli_only():
    assert [o.flag for spec in STUDIES.values() for o in options_of(spec) if not o.cli_only] == []


@pytest.mark.parametrize("command", sorted(WITH_ALGORITHM))
def test_processing_parameters_carry_the_spec_s_default_bounds_and_choices(qgis_app, command):
    algorithm = initialised(WITH_ALGORITHM[command])
    for name, option in algorithm.spec_parameters().items():
        parameter = algorithm.parameterDefinition(name)
        assert parameter is not None, name
        advanced = bool(parameter.flags() & QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        assert advanced == option.advanced, name
        if option.choices:
            assert tuple(parameter.options()) == tuple(option.choices), name
        if option.type in (int, float) and parameter.type() == "number":
            assert parameter.defaultValue() == option.default, name
            low = option.minimum if option.minimum is not None else option.above
            high = option.maximum if option.maximum is not None else option.below
            assert parameter.minimum() == (low if low is not None else -sys.float_info.max), name
            assert parameter.maximum() == (high if high is not None else sys.float_info.max), name
            assert (parameter.dataType() == QgsProcessingParameterNumber.Type.Integer) == (option.type is int), name
        if option.type is bool:
            assert parameter.defaultValue() == option.default, name


def test_the_missing_processing_options_are_there(qgis_app):
    """Those the README's promise lacked before the spec."""
    names = {command: set(initialised(WITH_ALGORITHM[command]).spec_parameters()) for command in WITH_ALGORITHM}
    assert {"LOSS"} <= names["pretrain"]
    assert {"LOSS", "TILES_WITH"} <= names["finetune"]
    assert {"PROBABILITIES", "CONFIDENCE_DTYPE", "DISAGREEMENT_OUT"} <= names["predict"]
    assert {"MODEL", "DATA", "TOP", "BY", "SPLIT", "AOI", "NODATA", "BATCH_SIZE", "DEVICE", "THREADS",
            "SCORES"} == names["suggest"]


@pytest.fixture
def dock(qgis_iface, tmp_path):
    from qgis_noisyseg.gui.panel import NoisySegDock

    QgsProject.instance().clear()
    dock = NoisySegDock(qgis_iface)
    yield dock
    if dock.runner.busy:
        dock.cancel()
    dock.close()
    QgsProject.instance().clear()


# The panel's widgets for command options: object name -> (spec, option).
PANEL_SPINS = {"noisyseg_tile": (ExportOptions, "tile"), "noisyseg_base_width": (PretrainOptions, "base_width"),
               "noisyseg_pretrain_epochs": (PretrainOptions, "epochs"),
               "noisyseg_finetune_epochs": (FinetuneOptions, "epochs")}
PANEL_COMBOS = {"noisyseg_unlabeled": (ExportOptions, "unlabeled"), "noisyseg_method": (PretrainOptions, "method"),
                "noisyseg_encoder": (PretrainOptions, "encoder"), "noisyseg_decoder": (PretrainOptions, "decoder"),
                "noisyseg_transfer": (FinetuneOptions, "transfer"),
                "noisyseg_finetune_decoder": (FinetuneOptions, "decoder")}


@pytest.mark.parametrize("name", sorted(PANEL_SPINS))
def test_a_panel_spin_box_starts_at_the_spec_default_within_its_bounds(dock, name):
    box = dock.findChild(QSpinBox, name)
    spec, dest = PANEL_SPINS[name]
    option = option_named(spec, dest)
    assert box.value() == option.default
    assert box.minimum() >= (option.minimum or 0) and (option.maximum is None or box.maximum() <= option.maximum)
    assert box.singleStep() % (option.multiple_of or 1) == 0
    for value in (box.minimum(), box.maximum()):
        option.check(value)  # every value the panel offers, the command takes


@pytest.mark.parametrize("name", sorted(PANEL_COMBOS))
def test_a_panel_combo_offers_the_spec_s_choices(dock, name):
    box = dock.findChild(QComboBox, name)
    spec, dest = PANEL_COMBOS[name]
    option = option_named(spec, dest)
    values = [box.itemData(i) for i in range(box.count())]
    offered = [v for v in values if v != ""]  # "" is "the pretrained one's" (the option left out)
    assert set(offered) <= set(option.choices) and offered
    if name != "noisyseg_transfer":
        assert set(offered) == set(option.choices)
    if option.default is not None:
        assert box.currentData() == option.default


def test_the_panel_state_starts_at_the_spec_defaults(qgis_app):
    from qgis_noisyseg.gui.state import PanelState

    state = PanelState()
    assert state["tile"] == option_named(ExportOptions, "tile").default
    assert {k: state["pretrain"][k] for k in ("method", "encoder", "decoder", "epochs", "base_width")} == \
        {k: option_named(PretrainOptions, k).default for k in ("method", "encoder", "decoder", "epochs", "base_width")}
    assert state["finetune"]["epochs"] == option_named(FinetuneOptions, "epochs").default
    assert C.DEFAULT_BASE_WIDTH == state["pretrain"]["base_width"]
