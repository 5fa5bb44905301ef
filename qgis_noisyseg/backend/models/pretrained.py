"""Pretrained ResNet weights (torchvision or timm format) for our encoder: ``--encoder-weights``.

torchvision's and timm's ``resnet18``/``resnet34``/``resnet50`` share their state-dict names
(``conv1``, ``bn1``, ``layer1``..``layer4`` with blocks ``N.conv1``, ``N.bn1``, ...,
``N.downsample.0/1``, and the classifier ``fc``), and so do TorchGeo's SSL4EO ResNets, which are
timm models. ``KEY_TABLE`` maps their top-level modules onto ours (``conv1`` -> ``stem.conv``,
``bn1`` -> ``stem.bn``, ``layerN`` -> ``layerN``, whose blocks use torchvision's names, see
encoders.py); ``fc`` is dropped. Every other name is refused, every tensor's shape is checked, and
every tensor of our encoder must be given (BatchNorm's ``num_batches_tracked`` may be absent).

The first convolution is adapted when the weights' band count differs from the dataset's, or
when the bands are named in another order than the weights':

- 3-band weights (ImageNet, SSL4EO RGB) are red, green, blue. A dataset band whose name says red,
  green or blue (``red``/``R``/``B04``/``B4``, ...; ``--rgb-bands`` says it for unnamed bands)
  gets that colour's kernel; every other band gets the mean of the three kernels. Without any
  colour name, 3 bands are taken as red, green, blue in order, as torchvision's users feed them.
- Weights of another band count are copied band for band onto a dataset of the same count, in
  order; onto another count every band gets the mean of all their kernels.
- The kernels are then scaled by (weights' bands) / (dataset's bands), as timm's
  ``adapt_input_conv`` does: the kernels' sum over bands, and so the stem's response to an input
  whose normalised bands move together (neighbouring optical bands nearly do), stays what it was
  in pretraining, which the stem's BatchNorm statistics expect. Where the counts agree the scale
  is 1 and the kernels are the file's exactly.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import torch
from torch import Tensor

from ...core.errors import UserError
from ..architectures import DEFAULT_BASE_WIDTH
from .registry import ENCODERS

OPTION = "--encoder-weights"
NONE, IMAGENET = "none", "imagenet"
KEY_TABLE = {"conv1": "stem.conv", "bn1": "stem.bn", "layer1": "layer1", "layer2": "layer2", "layer3": "layer3",
             "layer4": "layer4"}
DROPPED = ("fc",)  # the ImageNet classifier
FIRST_CONV = "stem.conv.weight"
OPTIONAL = ("num_batches_tracked",)  # absent from older files; our counter stays 0
ARCHITECTURES = {("basic", (2, 2, 2, 2)): "resnet18", ("basic", (3, 4, 6, 3)): "resnet34",
                 ("bottleneck", (3, 4, 6, 3)): "resnet50", ("bottleneck", (3, 4, 23, 3)): "resnet101",
                 ("bottleneck", (3, 8, 36, 3)): "resnet152"}
# torchvision's IMAGENET1K_V1 weights; the hex after the dash is the start of the file's sha256.
IMAGENET_URL = "https://download.pytorch.org/models/"
IMAGENET_FILES = {"resnet18": "resnet18-f37072fd.pth", "resnet34": "resnet34-b627a593.pth",
                  "resnet50": "resnet50-0676ba61.pth"}
IMAGENET_WIDTH = 64
URL_ENV = "NOISYSEG_WEIGHTS_URL"  # a mirror holding torchvision's file names (tests: a closed port)
DOWNLOAD_TIMEOUT_S = 30
RGB = ("red", "green", "blue")
COLOUR_NAMES = {"red": ("red", "r", "b04", "b4"), "green": ("green", "g", "b03", "b3"),
                "blue": ("blue", "b", "b02", "b2")}


@dataclass
class EncoderWeights:
    """Weights ready for our encoder: ``state_dict`` in our names, first convolution adapted;
    ``record`` goes into the run config, ``message`` is the info line."""

    state_dict: dict[str, Tensor]
    record: dict[str, Any]
    message: str


def weights_cache() -> Path:
    """torch hub's checkpoint folder ($TORCH_HOME/hub/checkpoints, by default
    ~/.cache/torch/hub/checkpoints), where torchvision keeps the same files."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def prepare_encoder_weights(spec: Optional[str], config: Mapping[str, Any], bands: Sequence[Mapping[str, Any]],
                            rgb_bands: Optional[str] = None, reporter=None) -> Optional[EncoderWeights]:
    """``spec`` (``none``, ``imagenet`` or a path) as weights for the encoder of ``config``
    (``encoder``, ``base_width``, ``in_channels``) on a dataset with ``bands`` (the manifest's
    ``image.bands``). Raises a one-line UserError for anything that does not fit."""
    if spec is None or str(spec).strip().lower() in ("", NONE):
        if rgb_bands:
            raise UserError(f"--rgb-bands says which bands the weights' red, green and blue kernels go to; "
                            f"pass it with {OPTION}")
        return None
    name, width = config["encoder"], int(config.get("base_width", DEFAULT_BASE_WIDTH))
    if str(spec).strip().lower() == IMAGENET:
        if width != IMAGENET_WIDTH:
            raise UserError(f"ImageNet weights fit base width {IMAGENET_WIDTH} only, got --base-width {width}; "
                            f"pass --base-width {IMAGENET_WIDTH}")
        path, source = imagenet_file(name, reporter), IMAGENET
    else:
        path, source = Path(spec).expanduser(), "file"
        if not path.is_file():
            raise UserError(f"{OPTION} {spec} is not a file; give a .pth state dict, imagenet or none")
    theirs = read_state_dict(path)
    found = architecture_of(theirs, path)
    if found != name:
        fix = f"pass --encoder {found}" if found in ENCODERS else f"only {', '.join(ENCODERS)} are supported"
        raise UserError(f"{path} holds {found} weights but the encoder is {name}; {fix}")
    file_width = int(theirs["conv1.weight"].shape[0])
    if file_width != width:
        raise UserError(f"{path} was trained at base width {file_width} but --base-width is {width}; "
                        f"pass --base-width {file_width} (pretrained weights fit only their own width)")
    reference = ENCODERS[name](int(config["in_channels"]), width).state_dict()
    ours, dropped = map_keys(theirs, reference, path)
    ours[FIRST_CONV], first_conv = adapt_first_conv(ours[FIRST_CONV], list(bands), rgb_bands)
    sha256 = file_sha256(path)
    record = {"source": source, "path": str(path.resolve()), "name": path.name, "sha256": sha256,
              "architecture": name, "in_channels": int(theirs["conv1.weight"].shape[1]), "tensors": len(ours),
              "dropped": dropped, "first_conv": first_conv}
    if source == IMAGENET:
        record["url"] = IMAGENET_URL + path.name
    label = f"imagenet ({path.name})" if source == IMAGENET else str(path)
    message = (f"encoder weights {label}, sha256 {sha256[:12]}: loaded {len(ours)} tensors into {name}"
               f"{f', dropped {len(dropped)} ({DROPPED[0]})' if dropped else ''}; first convolution "
               f"{first_conv['from_bands']} -> {first_conv['to_bands']} bands: {first_conv['summary']}")
    return EncoderWeights(ours, record, message)


def load_encoder_weights(encoder: torch.nn.Module, weights: EncoderWeights) -> None:
    """Copies the prepared tensors into ``encoder`` in place (shapes were checked)."""
    state = encoder.state_dict()
    with torch.no_grad():
        for key, tensor in weights.state_dict.items():
            state[key].copy_(tensor)


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """A plain state dict, or one under ``state_dict`` or ``model`` of a checkpoint dict; a
    ``module.`` prefix (DistributedDataParallel) is removed. Loaded with ``weights_only=True``:
    the file comes from elsewhere, and unpickling arbitrary objects runs code."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():  # weights_only met a class or function to import
            raise UserError(f"{path} holds pickled Python objects, not just tensors; refusing to load it "
                            "(save the state dict alone: torch.save(model.state_dict(), path))") from None
        raise UserError(f"{path} is not a PyTorch weights file (torch.save's .pth or .pt)") from None
    except Exception as exc:  # noqa: BLE001 (whatever a foreign file makes torch.load raise)
        detail = f": {_first_line(exc)}" if str(exc).strip() else ""
        raise UserError(f"{path} is not a PyTorch weights file (torch.save's .pth or .pt{detail})") from None
    if isinstance(loaded, dict) and loaded.get("format") == "noisyseg-checkpoint":
        raise UserError(f"{path} is a noisyseg checkpoint, not encoder weights; start from it with "
                        "finetune --init (or pass the file a torchvision/timm ResNet state dict)")
    for key in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not loaded or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in loaded.items()):
        raise UserError(f"{path} holds no state dict (a dict of tensors, plain or under 'state_dict' or 'model')")
    if all(key.startswith("module.") for key in loaded):
        loaded = {key[len("module."):]: value for key, value in loaded.items()}
    return loaded


def architecture_of(state: Mapping[str, Tensor], path: Path) -> str:
    """resnet18/34/50 (or 101/152) from the blocks per stage and the block type."""
    conv1 = state.get("conv1.weight")
    if conv1 is None or conv1.dim() != 4 or not any(k.startswith("layer4.") for k in state):
        raise UserError(f"{path} is not a torchvision/timm ResNet state dict (it has no conv1.weight and "
                        "layer1..layer4 tensors)")
    blocks = []
    for stage in range(1, 5):
        indexes = {key.split(".")[1] for key in state if key.startswith(f"layer{stage}.")}
        if not indexes or not all(index.isdigit() for index in indexes):
            raise UserError(f"{path} is not a torchvision/timm ResNet state dict (layer{stage} has no numbered blocks)")
        blocks.append(max(int(index) for index in indexes) + 1)
    kind = "bottleneck" if "layer1.0.conv3.weight" in state else "basic"
    return ARCHITECTURES.get((kind, tuple(blocks)), f"an unknown ResNet ({kind} blocks {blocks})")


def map_keys(theirs: Mapping[str, Tensor], reference: Mapping[str, Tensor], path: Path) -> tuple[dict, list]:
    """Their tensors under our names, through ``KEY_TABLE``; shapes checked against
    ``reference`` (our encoder's state dict), the first convolution's band axis excepted."""
    ours: dict[str, Tensor] = {}
    dropped = []
    for key, tensor in theirs.items():
        top, _, rest = key.partition(".")
        if top in DROPPED:
            dropped.append(key)
            continue
        if top not in KEY_TABLE:
            raise UserError(f"{path} has a tensor {key!r} that no part of a ResNet encoder takes (expected "
                            f"{', '.join(KEY_TABLE)} and {', '.join(DROPPED)})")
        name = f"{KEY_TABLE[top]}.{rest}"
        if name not in reference:
            raise UserError(f"{path} has a tensor {key!r} that our encoder does not have ({name})")
        expected = reference[name].shape
        shape = tensor.shape
        fits = shape[:1] + shape[2:] == expected[:1] + expected[2:] if name == FIRST_CONV else shape == expected
        if not fits:
            raise UserError(f"{path}: {key} has shape {list(shape)} but our encoder's {name} is {list(expected)}")
        ours[name] = tensor.detach().clone().to(reference[name].dtype)
    missing = [key for key in reference if key not in ours and key.rsplit(".", 1)[-1] not in OPTIONAL]
    if missing:
        raise UserError(f"{path} lacks {len(missing)} of the encoder's tensors (first: {missing[0]}); "
                        "it is not a complete ResNet state dict")
    return ours, dropped


def colour_of(name: Any) -> Optional[str]:
    """red, green or blue when a band name says so (its first word: ``Red``, ``B04``, ``B4, central
    wavelength 665 nm`` as GDAL's Sentinel-2 driver names them), else None."""
    words = re.split(r"[\s,;:()]+", str(name or "").strip().lower())
    return next((colour for colour, names in COLOUR_NAMES.items() if words and words[0] in names), None)


def parse_rgb_bands(text: str, count: int) -> list[int]:
    """``--rgb-bands 3,2,1``: the 1-based dataset bands holding red, green and blue."""
    try:
        indexes = [int(part) for part in text.split(",")]
    except ValueError:
        indexes = []
    if len(indexes) != 3 or len(set(indexes)) != 3 or not all(1 <= i <= count for i in indexes):
        raise UserError(f"--rgb-bands takes the dataset's bands (1..{count}) holding red, green and blue, such as "
                        f"3,2,1; got {text!r}")
    return indexes


def adapt_first_conv(weight: Tensor, bands: list, rgb_bands: Optional[str] = None) -> tuple[Tensor, dict]:
    """``weight`` [out, their bands, k, k] onto ``len(bands)`` bands (see the module docstring).
    Returns the new weight and what each band got, for the config and the info line."""
    source, target = int(weight.shape[1]), len(bands)
    names = [str(b.get("name") or f"band{b.get('index', i + 1)}") for i, b in enumerate(bands)]
    if source != 3 and rgb_bands:
        raise UserError(f"--rgb-bands applies to 3-band (RGB) weights; these have {source} input bands")
    mean = weight.mean(dim=1)
    if source == 3:
        if rgb_bands:
            colours: list[Optional[str]] = [None] * target
            for colour, index in zip(RGB, parse_rgb_bands(rgb_bands, target)):
                colours[index - 1] = colour
            rule = "--rgb-bands"
        else:
            colours, rule = [colour_of(name) for name in names], "by band name"
        if not any(colours) and target == 3:
            colours, rule = list(RGB), "unnamed bands taken as red, green, blue in order (--rgb-bands to say otherwise)"
        elif not any(colours):
            rule = "no band named red, green or blue: each gets the mean of the RGB kernels"
        got = [colour or "mean" for colour in colours]
        kernels = [weight[:, RGB.index(colour)] if colour else mean for colour in colours]
    elif source == target:
        got, rule = [f"band {i + 1}" for i in range(target)], "band for band, in order"
        kernels = [weight[:, i] for i in range(target)]
    else:
        got, rule = ["mean"] * target, f"each band gets the mean of the {source} kernels"
        kernels = [mean] * target
    scale = source / target
    adapted = torch.stack(kernels, dim=1) * scale
    pairs = ", ".join(f"{name}={what}" for name, what in zip(names, got))
    summary = f"{rule}: {pairs}" + ("" if scale == 1 else f"; times {source}/{target}")
    return adapted.contiguous(), {"from_bands": source, "to_bands": target, "rule": rule, "bands": got,
                                  "scale": scale, "summary": summary}


def imagenet_file(encoder: str, reporter=None) -> Path:
    """torchvision's ImageNet weights for ``encoder``: from the cache, or downloaded into it once
    and checked against the sha256 prefix in the file name."""
    name = IMAGENET_FILES[encoder]
    prefix = re.search(r"-([0-9a-f]+)\.", name).group(1)
    cache = weights_cache()
    path = cache / name
    if path.is_file():
        if not file_sha256(path).startswith(prefix):
            raise UserError(f"the cached {path} does not match torchvision's checksum ({prefix}...); delete it "
                            "to download it again")
        return path
    url = os.environ.get(URL_ENV, IMAGENET_URL).rstrip("/") + "/" + name
    how = (f"download {IMAGENET_URL}{name} on a machine with a network and pass {OPTION} /path/to/{name} "
           f"(or copy it into {cache})")
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f".{name}.{os.getpid()}.part"
    digest = hashlib.sha256()
    try:
        try:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(partial, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0)
                if reporter is not None:
                    reporter.info(f"downloading the ImageNet {encoder} weights from {url} into {cache}")
                done = 0
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if reporter is not None:
                        reporter.progress("download", done >> 20, max(total, done) >> 20, unit="MiB")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise UserError(f"cannot download {url} ({_first_line(reason)}); {how}") from None
        if not digest.hexdigest().startswith(prefix):
            raise UserError(f"the file downloaded from {url} has sha256 {digest.hexdigest()[:16]}..., not torchvision's "
                            f"{prefix}...; {how}")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _first_line(value: Any) -> str:
    text = str(value).strip().splitlines()
    return (text[0] if text else type(value).__name__)[:200]
