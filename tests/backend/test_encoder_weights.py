"""--encoder-weights: torchvision/timm ResNet state dicts into our encoder, through the CLI.

torchvision cannot be installed beside this torch, so the files are built here with torchvision's
names and shapes (``torchvision_resnet``, written from torchvision/models/resnet.py, not from our
key table) and random values; the parameter counts pin them to torchvision's published ones.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from rasterio.transform import from_origin

from qgis_noisyseg.backend.checkpoint import load_checkpoint
from qgis_noisyseg.backend.models import pretrained
from qgis_noisyseg.core.errors import UserError
from qgis_noisyseg.study.settings import TrainingSettings
from tests.conftest import assert_user_error

CPU = ["--batch-size", "4", "--device", "cpu"]
ZERO = ["--epochs", "0", *CPU]  # a run of 0 epochs saves the initial model: the loaded weights exactly


def torchvision_resnet(blocks=(2, 2, 2, 2), bottleneck=False, in_chans=3, width=64, fc=True, batches_tracked=False,
                       seed=0) -> dict:
    """A state dict named and shaped as torchvision's ResNet (timm's resnet18/34/50 use the same
    names), with random values."""
    g = torch.Generator().manual_seed(seed)
    state = {}

    def conv(name, out_c, in_c, k):  # He-scaled, as trained kernels roughly are: activations stay finite
        state[f"{name}.weight"] = torch.randn(out_c, in_c, k, k, generator=g) * (2 / (in_c * k * k)) ** 0.5

    def bn(name, c):
        state[f"{name}.weight"] = torch.rand(c, generator=g) + 0.5
        state[f"{name}.bias"] = torch.randn(c, generator=g)
        state[f"{name}.running_mean"] = torch.randn(c, generator=g)
        state[f"{name}.running_var"] = torch.rand(c, generator=g) + 0.5
        if batches_tracked:
            state[f"{name}.num_batches_tracked"] = torch.tensor(1234)

    conv("conv1", width, in_chans, 7)
    bn("bn1", width)
    expansion = 4 if bottleneck else 1
    inplanes = width
    for stage, count in enumerate(blocks):
        planes = width * 2**stage
        for i in range(count):
            name, stride = f"layer{stage + 1}.{i}", (2 if stage and not i else 1)
            if bottleneck:
                conv(f"{name}.conv1", planes, inplanes, 1)
                bn(f"{name}.bn1", planes)
                conv(f"{name}.conv2", planes, planes, 3)
                bn(f"{name}.bn2", planes)
                conv(f"{name}.conv3", planes * 4, planes, 1)
                bn(f"{name}.bn3", planes * 4)
            else:
                conv(f"{name}.conv1", planes, inplanes, 3)
                bn(f"{name}.bn1", planes)
                conv(f"{name}.conv2", planes, planes, 3)
                bn(f"{name}.bn2", planes)
            if i == 0 and (stride != 1 or inplanes != planes * expansion):
                conv(f"{name}.downsample.0", planes * expansion, inplanes, 1)
                bn(f"{name}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    if fc:
        state["fc.weight"] = torch.randn(1000, inplanes, generator=g) / inplanes**0.5
        state["fc.bias"] = torch.randn(1000, generator=g)
    return state


def parameter_count(state: dict) -> int:
    return sum(v.numel() for k, v in state.items() if k.rsplit(".", 1)[-1] in ("weight", "bias"))


def test_the_test_files_have_torchvision_shapes():
    r18 = torchvision_resnet()
    assert parameter_count(r18) == 11_689_512 and len(r18) == 102  # torchvision's resnet18, fc included
    assert parameter_count(torchvision_resnet((3, 4, 6, 3), bottleneck=True)) == 25_557_032  # resnet50
    assert list(r18["layer2.0.downsample.0.weight"].shape) == [128, 64, 1, 1] and "layer1.0.downsample.0.weight" not in r18


def ours(name: str) -> str:
    """Our model.pt name of a torchvision encoder tensor (written out here, not taken from the code)."""
    top, _, rest = name.partition(".")
    return "encoder." + {"conv1": "stem.conv", "bn1": "stem.bn"}.get(top, top) + "." + rest


def info_lines(result) -> list[str]:
    return [e["message"] for e in result.events() if e["event"] == "info" and "encoder weights" in e["message"]]


def save(state, path: Path) -> Path:
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory) -> Path:
    return save(torchvision_resnet(), tmp_path_factory.mktemp("weights") / "resnet18-test.pth")


def test_torchvision_resnet18_arrives_exactly_in_the_saved_model(denmark_2016, resnet18_file, tmp_path, run_cli):
    result = run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights", resnet18_file,
                     *ZERO, "--json")
    assert result.code == 0, result.err
    checkpoint = load_checkpoint(tmp_path / "run" / "model.pt")
    theirs = torch.load(resnet18_file, weights_only=True)
    for name, tensor in theirs.items():
        if not name.startswith("fc."):
            assert torch.equal(checkpoint["state_dict"][ours(name)], tensor), name
    record = checkpoint["config"]["encoder_weights"]
    assert record["sha256"] == hashlib.sha256(resnet18_file.read_bytes()).hexdigest()
    assert record["source"] == "file" and record["path"] == str(resnet18_file.resolve())
    assert record["tensors"] == 100 and record["dropped"] == ["fc.weight", "fc.bias"]
    # The Denmark scene's bands carry no names (band1..3): taken as red, green, blue in order.
    assert record["first_conv"]["bands"] == ["red", "green", "blue"] and record["first_conv"]["scale"] == 1
    [line] = info_lines(result)
    assert "loaded 100 tensors into resnet18, dropped 2 (fc)" in line and "unnamed bands" in line
    assert load_checkpoint(tmp_path / "run" / "model.pt")["config"]["encoder_weights"] == record


def named_dataset(root: Path, names: list[str]) -> Path:
    """A small dataset whose image bands carry ``names`` (a Sentinel-2 stack: B02, B03, ...)."""
    from qgis_noisyseg.core.export import export_dataset
    from qgis_noisyseg.core.progress import Reporter
    from tests.core.test_export_synthetic import ORIGIN, box_px, write_polygons

    root.mkdir(parents=True, exist_ok=True)
    data = (np.random.default_rng(0).random((len(names), 128, 128)) * 1000).astype("uint16")
    with rasterio.open(root / "img.tif", "w", driver="GTiff", width=128, height=128, count=len(names), dtype="uint16",
                       crs="EPSG:32632", transform=from_origin(*ORIGIN, 1.0, 1.0)) as dst:
        dst.write(data)
        for index, name in enumerate(names, start=1):
            dst.set_band_description(index, name)
    write_polygons(root / "labels.gpkg", [box_px(0, 0, 128, 70), box_px(10, 80, 60, 120)], ["a", "b"])
    export_dataset(root / "img.tif", [str(root / "labels.gpkg")], root / "ds", field="cls", tile=32,
                   split=(0.8, 0.2, 0.0), reporter=Reporter(quiet=True))
    return root / "ds"


def test_rgb_weights_go_to_the_bands_named_for_them_and_the_mean_elsewhere(resnet18_file, tmp_path, run_cli):
    dataset = named_dataset(tmp_path / "s2", ["B02", "B03", "B04", "B08"])  # blue, green, red, near infrared
    assert [b["name"] for b in json.loads((dataset / "manifest.json").read_text())["image"]["bands"]] == [
        "B02", "B03", "B04", "B08"]
    result = run_cli("finetune", "--data", dataset, "--init", "none", "--out", tmp_path / "run",
                     "--encoder-weights", resnet18_file, *ZERO, "--json")
    assert result.code == 0, result.err
    stem = load_checkpoint(tmp_path / "run" / "model.pt")["state_dict"]["encoder.stem.conv.weight"]
    rgb = torch.load(resnet18_file, weights_only=True)["conv1.weight"]  # [64, 3 (red, green, blue), 7, 7]
    assert stem.shape == (64, 4, 7, 7)
    torch.testing.assert_close(stem[:, 0], rgb[:, 2] * 0.75, rtol=0, atol=0)  # B02 <- blue, times 3/4
    torch.testing.assert_close(stem[:, 1], rgb[:, 1] * 0.75, rtol=0, atol=0)  # B03 <- green
    torch.testing.assert_close(stem[:, 2], rgb[:, 0] * 0.75, rtol=0, atol=0)  # B04 <- red
    torch.testing.assert_close(stem[:, 3], rgb.mean(dim=1) * 0.75)  # B08 <- the mean of the RGB kernels
    # The kernels' sum over bands, the stem's response to bands that move together, is the file's.
    torch.testing.assert_close(stem.sum(dim=1), rgb.sum(dim=1), rtol=1e-5, atol=1e-5)
    [line] = info_lines(result)
    assert "B02=blue, B03=green, B04=red, B08=mean; times 3/4" in line


def test_rgb_bands_says_where_red_green_and_blue_are_in_unnamed_imagery(denmark_2016, resnet18_file, tmp_path,
                                                                        run_cli):
    """The Denmark scene is blue, green, red with no band names: --rgb-bands 3,2,1 puts each colour right."""
    assert run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights", resnet18_file,
                   "--rgb-bands", "3,2,1", *ZERO).code == 0
    stem = load_checkpoint(tmp_path / "run" / "model.pt")["state_dict"]["encoder.stem.conv.weight"]
    rgb = torch.load(resnet18_file, weights_only=True)["conv1.weight"]
    assert torch.equal(stem, rgb.flip(1))
    for bad in ("3,2", "1,1,2", "0,1,2", "4,2,1", "r,g,b"):
        assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / bad, "--encoder-weights",
                                  resnet18_file, "--rgb-bands", bad, *ZERO), "--rgb-bands takes", "1..3")
        assert not (tmp_path / bad).exists()
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "x", "--rgb-bands", "3,2,1",
                              *ZERO), "pass it with --encoder-weights")


def test_timm_format_13_band_ssl4eo_weights_load_with_the_mean_kernel(denmark_2016, tmp_path, run_cli):
    """TorchGeo's SSL4EO-S12 ResNet-18 (timm: no fc, BatchNorm counters, 13 Sentinel-2 bands) onto 3 bands."""
    state = torchvision_resnet(in_chans=13, fc=False, batches_tracked=True, seed=1)
    file = save({"state_dict": state, "epoch": 100}, tmp_path / "resnet18_sentinel2_all_moco.pth")
    result = run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights", file, *ZERO,
                     "--json")
    assert result.code == 0, result.err
    checkpoint = load_checkpoint(tmp_path / "run" / "model.pt")
    for name, tensor in state.items():
        if name != "conv1.weight":
            assert torch.equal(checkpoint["state_dict"][ours(name)], tensor), name
    stem = checkpoint["state_dict"]["encoder.stem.conv.weight"]
    expected = state["conv1.weight"].mean(dim=1, keepdim=True).expand(-1, 3, -1, -1) * (13 / 3)
    torch.testing.assert_close(stem, expected)
    assert checkpoint["config"]["encoder_weights"]["tensors"] == 120  # 100 and 20 num_batches_tracked
    assert checkpoint["config"]["encoder_weights"]["in_channels"] == 13
    [line] = info_lines(result)
    assert "loaded 120 tensors" in line and "13 -> 3 bands: each band gets the mean of the 13 kernels" in line


def test_a_ddp_state_dict_under_model_loads(denmark_2016):
    state = {f"module.{k}": v for k, v in torchvision_resnet(width=8).items()}
    path = Path(denmark_2016).parent / "ddp.pth"
    torch.save({"model": state, "optimizer": {"lr": 0.1}}, path)
    weights = pretrained.prepare_encoder_weights(str(path), {"encoder": "resnet18", "base_width": 8, "in_channels": 3},
                                                 [{"index": i, "name": f"band{i}"} for i in (1, 2, 3)])
    assert len(weights.state_dict) == 100 and torch.equal(weights.state_dict["layer4.1.bn2.running_var"],
                                                          state["module.layer4.1.bn2.running_var"])
    path.unlink()


def test_wrong_width_is_refused_naming_the_flag(denmark_2016, resnet18_file, tmp_path, run_cli):
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights",
                              resnet18_file, "--base-width", "16", *ZERO),
                      "trained at base width 64 but --base-width is 16", "pass --base-width 64")
    assert not (tmp_path / "run").exists()


def test_resnet50_weights_into_resnet18_are_refused(denmark_2016, tmp_path, run_cli):
    file = save(torchvision_resnet((3, 4, 6, 3), bottleneck=True, width=8), tmp_path / "r50.pth")
    assert_user_error(run_cli("finetune", "--data", denmark_2016, "--init", "none", "--out", tmp_path / "run",
                              "--encoder-weights", file, "--base-width", "8", *ZERO),
                      "holds resnet50 weights but the encoder is resnet18", "pass --encoder resnet50")
    file = save(torchvision_resnet((3, 4, 23, 3), bottleneck=True, width=8), tmp_path / "r101.pth")
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights", file,
                              "--encoder", "resnet50", "--base-width", "8", *ZERO),
                      "holds resnet101 weights", "only resnet18, resnet34, resnet50 are supported")
    assert not (tmp_path / "run").exists()


def test_random_bytes_and_other_files_are_refused(denmark_2016, tmp_path, run_cli):
    def refused(file, *fragments):
        assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights",
                                  file, *ZERO), *fragments)
        assert not (tmp_path / "run").exists()

    noise = tmp_path / "noise.pth"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    refused(noise, "is not a PyTorch weights file")
    (tmp_path / "empty.pth").write_bytes(b"")
    refused(tmp_path / "empty.pth", "is not a PyTorch weights file")
    refused(tmp_path / "absent.pth", "is not a file")
    refused(save({"w": [1, 2]}, tmp_path / "list.pth"), "holds no state dict")
    refused(save({"encoder.conv.weight": torch.zeros(1)}, tmp_path / "other.pth"), "is not a torchvision/timm ResNet")
    extra = {**torchvision_resnet(), "head.weight": torch.zeros(2)}
    refused(save(extra, tmp_path / "extra.pth"), "a tensor 'head.weight' that no part of a ResNet encoder takes")
    partial = {k: v for k, v in torchvision_resnet().items() if k != "layer3.1.bn1.running_var"}
    refused(save(partial, tmp_path / "partial.pth"), "lacks 1 of the encoder's tensors (first: layer3.1.bn1.running_var)")
    bad = {**torchvision_resnet(), "layer2.0.conv2.weight": torch.zeros(128, 128, 1, 1)}
    refused(save(bad, tmp_path / "shape.pth"), "layer2.0.conv2.weight has shape [128, 128, 1, 1]")


class WritesMarker:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "ran"))


def test_a_pickle_with_objects_is_refused_and_not_run(denmark_2016, tmp_path, run_cli):
    marker = tmp_path / "unpickled"
    file = save({**torchvision_resnet(width=8), "payload": WritesMarker(str(marker))}, tmp_path / "evil.pth")
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights", file,
                              "--base-width", "8", *ZERO), "holds pickled Python objects", "refusing to load it")
    assert not marker.exists()


def test_a_noisyseg_checkpoint_is_pointed_to_init(denmark_2016, resnet18_file, tmp_path, run_cli):
    assert run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--base-width", "8", *ZERO).code == 0
    assert_user_error(run_cli("finetune", "--data", denmark_2016, "--init", "none", "--out", tmp_path / "ft",
                              "--encoder-weights", tmp_path / "run" / "model.pt", *ZERO),
                      "is a noisyseg checkpoint", "finetune --init")
    assert_user_error(run_cli("finetune", "--data", denmark_2016, "--init", tmp_path / "run" / "model.pt",
                              "--out", tmp_path / "ft", "--encoder-weights", resnet18_file, *ZERO),
                      "--encoder-weights starts a model from scratch (--init none)")
    assert not (tmp_path / "ft").exists()


def test_resume_needs_the_same_weights(denmark_2016, tmp_path, run_cli):
    file = save(torchvision_resnet(width=8), tmp_path / "w8.pth")
    argv = ["pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--base-width", "8", "--epochs", "1", *CPU]
    other = save(torchvision_resnet(width=8, seed=1), tmp_path / "other.pth")
    assert run_cli(*argv, "--encoder-weights", file).code == 0
    assert_user_error(run_cli(*argv, "--encoder-weights", other, "--resume", "--json"),
                      f"was started with --encoder-weights {file.resolve()}", "resume it with the same weights")
    assert run_cli(*argv, "--encoder-weights", file, "--resume", "--epochs", "2").code == 0
    assert run_cli(*argv, "--resume", "--epochs", "3").code == 0  # its own weights, from last.pt
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["encoder_weights"]["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()


# ImageNet: the cache, the download and its checksum, offline.

@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert pretrained.weights_cache() == tmp_path / "torch" / "hub" / "checkpoints"
    return pretrained.weights_cache()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: connecting is refused


def test_offline_imagenet_fails_in_one_line_saying_how_to_pass_a_file(denmark_2016, cache, tmp_path, monkeypatch,
                                                                      run_cli):
    url = f"http://127.0.0.1:{closed_port()}/models"
    monkeypatch.setenv(pretrained.URL_ENV, url)
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights",
                              "imagenet", *ZERO),
                      f"cannot download {url}/resnet18-f37072fd.pth (",
                      "download https://download.pytorch.org/models/resnet18-f37072fd.pth on a machine with a network",
                      "pass --encoder-weights /path/to/resnet18-f37072fd.pth", str(cache))
    assert not (tmp_path / "run").exists() and not any(cache.iterdir())


def test_imagenet_needs_width_64_before_any_download(denmark_2016, cache, tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv(pretrained.URL_ENV, f"http://127.0.0.1:{closed_port()}")
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights",
                              "imagenet", "--base-width", "16", *ZERO),
                      "ImageNet weights fit base width 64 only", "pass --base-width 64")
    assert not cache.exists()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on localhost serving ``tmp_path / "served"``; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_a_download_with_the_wrong_checksum_is_refused_and_not_kept(denmark_2016, cache, server, tmp_path,
                                                                     monkeypatch, run_cli):
    folder, url = server
    (folder / "resnet18-f37072fd.pth").write_bytes(b"not the weights" * 100)
    monkeypatch.setenv(pretrained.URL_ENV, url)
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "run", "--encoder-weights",
                              "imagenet", *ZERO, "--json"),
                      f"the file downloaded from {url}resnet18-f37072fd.pth has sha256 "
                      f"{hashlib.sha256(b'not the weights' * 100).hexdigest()[:16]}..., not torchvision's f37072fd...")
    assert not (tmp_path / "run").exists() and not any(cache.iterdir())


def test_imagenet_downloads_once_checks_the_sha256_prefix_and_then_uses_the_cache(
        denmark_2016, resnet18_file, cache, server, tmp_path, monkeypatch, run_cli):
    folder, url = server
    sha = hashlib.sha256(resnet18_file.read_bytes()).hexdigest()
    name = f"resnet18-{sha[:8]}.pth"  # torchvision's naming, for a file whose checksum we know
    (folder / name).write_bytes(resnet18_file.read_bytes())
    monkeypatch.setitem(pretrained.IMAGENET_FILES, "resnet18", name)
    monkeypatch.setenv(pretrained.URL_ENV, url)
    result = run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "a", "--encoder-weights", "imagenet",
                     *ZERO, "--json")
    assert result.code == 0, result.err
    assert [p.name for p in cache.iterdir()] == [name] and (cache / name).read_bytes() == resnet18_file.read_bytes()
    record = load_checkpoint(tmp_path / "a" / "model.pt")["config"]["encoder_weights"]
    assert record["source"] == "imagenet" and record["sha256"] == sha and record["name"] == name
    assert record["url"] == f"https://download.pytorch.org/models/{name}" and record["path"] == str(cache / name)
    [line] = info_lines(result)
    assert line.startswith(f"encoder weights imagenet ({name}), sha256 {sha[:12]}: loaded 100 tensors")
    (folder / name).unlink()  # the server no longer has it: the second run takes the cached file
    assert run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "b", "--encoder-weights", "imagenet",
                   *ZERO).code == 0
    assert torch.equal(load_checkpoint(tmp_path / "b" / "model.pt")["state_dict"]["encoder.layer1.0.conv1.weight"],
                       torch.load(resnet18_file, weights_only=True)["layer1.0.conv1.weight"])
    (cache / name).write_bytes(b"corrupted")
    assert_user_error(run_cli("pretrain", "--data", denmark_2016, "--out", tmp_path / "c", "--encoder-weights",
                              "imagenet", *ZERO), f"the cached {cache / name} does not match", "delete it")


# The pieces.

@pytest.mark.parametrize("name,colour", [
    ("red", "red"), ("Red", "red"), ("R", "red"), ("B04", "red"), ("B4, central wavelength 665 nm", "red"),
    ("green", "green"), ("G", "green"), ("B03", "green"), ("blue", "blue"), ("B", "blue"), ("B02", "blue"),
    ("band1", None), ("B08", None), ("NIR", None), ("red_edge", None), ("B8A", None), ("", None), (None, None)])
def test_band_names_that_say_a_colour(name, colour):
    assert pretrained.colour_of(name) == colour


def unnamed(count):
    return [{"index": i + 1, "name": f"band{i + 1}"} for i in range(count)]


def test_first_conv_rules_keep_the_kernels_sum():
    rgb = torch.randn(4, 3, 7, 7, generator=torch.Generator().manual_seed(0))
    one, info = pretrained.adapt_first_conv(rgb, unnamed(1))
    torch.testing.assert_close(one[:, 0], rgb.sum(dim=1))  # timm's rule for one band: the sum of the kernels
    assert info["bands"] == ["mean"] and info["scale"] == 3
    five, info = pretrained.adapt_first_conv(rgb, unnamed(5))
    torch.testing.assert_close(five, rgb.mean(dim=1, keepdim=True).expand(-1, 5, -1, -1) * 0.6)
    assert info["rule"].startswith("no band named red, green or blue")
    same, info = pretrained.adapt_first_conv(rgb, [{"name": "blue"}, {"name": "green"}, {"name": "red"}])
    assert torch.equal(same, rgb.flip(1)) and info["bands"] == ["blue", "green", "red"]
    nine = torch.randn(4, 9, 7, 7)
    assert torch.equal(pretrained.adapt_first_conv(nine, unnamed(9))[0], nine)
    with pytest.raises(UserError, match="--rgb-bands applies to 3-band"):
        pretrained.adapt_first_conv(nine, unnamed(9), "3,2,1")


def test_the_torchvision_file_names_carry_their_published_checksum_prefixes():
    assert pretrained.IMAGENET_FILES == {"resnet18": "resnet18-f37072fd.pth", "resnet34": "resnet34-b627a593.pth",
                                         "resnet50": "resnet50-0676ba61.pth"}
    assert pretrained.IMAGENET_URL == "https://download.pytorch.org/models/"


def test_study_passes_the_weights_to_pretraining_and_to_scratch_only():
    settings = TrainingSettings(encoder_weights="imagenet", rgb_bands="3,2,1")
    argv = settings.pretrain_argv(Path("noisy"), "noisy")
    assert argv[argv.index("--encoder-weights") + 1] == "imagenet" and argv[argv.index("--rgb-bands") + 1] == "3,2,1"
    scratch = settings.finetune_argv(Path("clean"), None, 2, 0, 2)
    assert scratch[scratch.index("--encoder-weights") + 1] == "imagenet" and "--rgb-bands" in scratch
    from_model = settings.finetune_argv(Path("clean"), Path("run/model.pt"), 2, 0, 2)
    assert "--encoder-weights" not in from_model and "--rgb-bands" not in from_model
    assert "--encoder-weights" not in TrainingSettings().pretrain_argv(Path("noisy"), "noisy")


def test_a_study_starts_pretraining_and_scratch_from_the_weights(denmark_2016, tmp_path, run_cli):
    file = save(torchvision_resnet(width=8, seed=3), tmp_path / "w8.pth")
    argv = ["study", "label-efficiency", "--noisy", denmark_2016, "--clean", denmark_2016, "--test", denmark_2016,
            "--k", "2", "--inits", "scratch,noisy", "--seeds", "1", "--out", tmp_path / "le", "--epochs", "1",
            "--pretrain-epochs", "1", "--base-width", "8", "--batch-size", "8", "--device", "cpu"]
    result = run_cli(*argv, "--encoder-weights", file)
    assert result.code == 0, result.err
    sha = hashlib.sha256(file.read_bytes()).hexdigest()
    configs = {p.parent.relative_to(tmp_path / "le").as_posix(): load_checkpoint(p)["config"]
               for p in (tmp_path / "le").glob("*/*/model.pt")}
    weights = {name: (c["encoder_weights"] or {}).get("sha256") for name, c in configs.items()}
    assert sorted(weights.values(), key=str) == [None, sha, sha]  # the pretraining, scratch; not the fine-tuned one
    assert weights[next(n for n, c in configs.items() if c["pretraining"] == "noisy" and c["init"] is None)] == sha
    assert json.loads((tmp_path / "le" / "study.json").read_text())["settings"]["encoder_weights"] == str(file.resolve())
    assert f"the `scratch` runs start their encoder from `{file.resolve()}`" in (tmp_path / "le" / "report.md").read_text()
    assert_user_error(run_cli(*argv), "was run with other settings (encoder_weights:")
    assert_user_error(run_cli(*argv, "--out", tmp_path / "x", "--encoder-weights", tmp_path / "absent.pth"),
                      "is not a file")
    assert not (tmp_path / "x").exists()
