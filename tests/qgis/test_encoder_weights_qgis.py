"""Pretrained encoder weights from the panel and from Processing, in real QGIS with the real backend.

The weights file is written by the backend's Python in a subprocess, so torch never enters QGIS's
process; it has torchvision's names (tests/backend/test_encoder_weights.py) at base width 8.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from pathlib import Path

import processing
import pytest
from qgis.core import QgsProcessingException

from tests.conftest import REPO
from tests.qgis.panel_helpers import wait_for_job
from tests.qgis.test_panel import dock  # noqa: F401  (a fixture)


def weights_file(path: Path, width: int = 8) -> Path:
    code = ("import torch; from tests.backend.test_encoder_weights import torchvision_resnet; "
            f"torch.save(torchvision_resnet(width={width}), {str(path)!r})")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def choose(step, value: str) -> None:
    """Picks a weights choice as the operator does (``activated`` is the user's signal)."""
    index = step.encoder_weights.findData(value)
    step.encoder_weights.setCurrentIndex(index)
    step.encoder_weights.activated.emit(index)


def test_the_panel_starts_the_encoder_from_a_file_and_the_project_keeps_the_choice(dock, project, qgis_iface,
                                                                                  denmark_old_map, tmp_path):
    from qgis_noisyseg.gui.panel import NoisySegDock

    dock.state["dataset"] = str(denmark_old_map)  # as step 1 leaves it (tests/qgis/test_panel.py exports there)
    step = dock.pretrain_step
    assert [step.encoder_weights.itemData(i) for i in range(step.encoder_weights.count())] == ["none", "imagenet", "file"]
    assert step.encoder_weights.currentData() == "none" and not step.weights_file.isEnabled()
    choose(step, "file")
    assert step.weights_file.isEnabled()
    assert not step.start()  # no file chosen yet: a message, no run
    assert dock.state["pretrain_runs"] == []

    file = weights_file(tmp_path / "resnet18-w8.pth")
    step.weights_file.setFilePath(str(file))
    step.base_width.setValue(8)
    step.epochs.setValue(1)
    assert step.start()
    assert wait_for_job(dock).startswith("Pretrained "), dock.log.toPlainText()[-2000:]
    run = step.selected_run()
    arguments = run["arguments"]
    assert run["complete"] and arguments[arguments.index("--encoder-weights") + 1] == str(file)
    assert arguments.count("--encoder-weights") == 1 and arguments[arguments.index("--base-width") + 1] == "8"
    config = json.loads((Path(run["path"]) / "config.json").read_text())
    assert config["encoder_weights"]["sha256"] == sha256(file) and config["encoder_weights"]["tensors"] == 100
    assert "loaded 100 tensors" in dock.log.toPlainText()

    choose(step, "imagenet")
    assert step.base_width.value() == 64 and not step.weights_file.isEnabled()  # the width ImageNet's weights fit
    saved = tmp_path / "weights.qgz"
    step.store(dock.state)
    dock.state.save(project)
    assert project.write(str(saved))
    project.clear()
    assert project.read(str(saved))
    reopened = NoisySegDock(qgis_iface)
    try:
        assert reopened.pretrain_step.encoder_weights.currentData() == "imagenet"
        assert reopened.pretrain_step.weights_file.filePath() == str(file)
        assert not reopened.pretrain_step.weights_file.isEnabled()
    finally:
        reopened.shutdown()
        reopened.deleteLater()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_processing_pretrain_starts_the_encoder_from_weights(provider, denmark_old_map, tmp_path,  # noqa: F811
                                                            monkeypatch):
    dataset = str(denmark_old_map)
    file = weights_file(tmp_path / "w8.pth")
    training = {"DATA": dataset, "EPOCHS": 1, "BATCH_SIZE": 4, "DEVICE": "cpu", "BASE_WIDTH": 8}
    results = processing.run("noisyseg:pretrain", {**training, "ENCODER_WEIGHTS_FILE": str(file),
                                                   "OUTPUT": str(tmp_path / "run")})
    config = json.loads((Path(results["MODEL"]).parent / "config.json").read_text())
    assert config["encoder_weights"]["sha256"] == sha256(file) and config["encoder_weights"]["source"] == "file"

    with pytest.raises(QgsProcessingException, match="from ImageNet or from a weights file, not both"):
        processing.run("noisyseg:pretrain", {**training, "ENCODER_WEIGHTS": "imagenet", "ENCODER_WEIGHTS_FILE": str(file),
                                             "OUTPUT": str(tmp_path / "both")})
    monkeypatch.setenv("NOISYSEG_WEIGHTS_URL", f"http://127.0.0.1:{closed_port()}/")  # offline, whatever the machine
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(QgsProcessingException) as error:
        processing.run("noisyseg:pretrain", {**training, "BASE_WIDTH": 64, "ENCODER_WEIGHTS": "imagenet",
                                             "OUTPUT": str(tmp_path / "offline")})
    message = str(error.value)
    assert message.startswith("noisyseg pretrain: error: cannot download http://127.0.0.1:") and "\n" not in message
    assert "pass --encoder-weights /path/to/resnet18-f37072fd.pth" in message
    assert not (tmp_path / "offline").exists() and not (tmp_path / "both").exists()
