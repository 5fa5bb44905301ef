"""Checkpoints as plain dicts of tensors and a JSON config (docs/contracts.md), never pickles."""

from __future__ import annotations

import errno
import json
import math
import os
import pickle
from pathlib import Path
from typing import Any, Mapping, Optional

import torch

from ..core.atomic import atomic_file
from ..core.errors import UserError

FORMAT = "noisyseg-checkpoint"
FORMAT_VERSION = 1


def save_checkpoint(
    path: os.PathLike | str,
    state_dict: Mapping[str, torch.Tensor],
    config: Mapping[str, Any],
    *,
    optimizer: Optional[Mapping[str, Any]] = None,
    scheduler: Optional[Mapping[str, Any]] = None,
    epoch: Optional[int] = None,
) -> Path:
    """Writes atomically: under a temporary name beside ``path``, then renamed onto it."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "state_dict": {key: value.detach().cpu() for key, value in state_dict.items()},
        "config_json": json.dumps(config, ensure_ascii=False, default=_json_default),
    }
    if optimizer is not None:
        payload["optimizer"] = optimizer
    if scheduler is not None:
        payload["scheduler"] = scheduler
    if epoch is not None:
        payload["epoch"] = int(epoch)
    with atomic_file(path) as tmp:
        try:
            torch.save(payload, tmp)
        except RuntimeError as exc:  # torch's writer says "unexpected pos" for a full disk: say what it is
            raise OSError(errno.ENOSPC if _nearly_full(tmp) else errno.EIO,
                          f"writing the checkpoint failed ({str(exc).splitlines()[0][:120]})", str(path)) from None
    return Path(path)


def _nearly_full(path: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(Path(path).parent).free < 2**20
    except OSError:
        return False


def load_checkpoint(path: os.PathLike | str) -> dict[str, Any]:
    """The checkpoint dict with ``config`` (the parsed ``config_json``) added.

    Loads with ``weights_only=True``: a file holding pickled Python objects is refused, not run.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():  # a pickle of Python objects, not of tensors
            raise UserError(f"{path} is not a safe checkpoint (it holds pickled Python objects); refusing to load "
                            "it") from None
        raise UserError(f"{path} is not a readable checkpoint (not a torch file); {REFIX}") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds on a damaged or foreign file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path} is not a readable checkpoint ({reason}); use a model.pt or last.pt written by "
                        "noisyseg") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise UserError(f"{path} is not a noisyseg checkpoint")
    if checkpoint.get("format_version", 0) > FORMAT_VERSION:
        raise UserError(f"{path} was written by a newer qgis_noisyseg; upgrade the plugin")
    try:
        checkpoint["config"] = json.loads(checkpoint["config_json"])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise UserError(f"{path} has no valid config_json") from None
    return checkpoint


REFIX = "use a model.pt or last.pt written by noisyseg pretrain or finetune"


def check_checkpoint(checkpoint: Mapping[str, Any], path: os.PathLike | str,
                     needs: tuple = ("classes", "normalization")) -> None:
    """What a command needs from a loaded checkpoint (docs/contracts.md), checked before it does
    any work: weights as a dict of tensors that fit the architecture the config names, and the
    config entries of ``needs`` ("classes", "normalization" of every band). A one-line error
    names the first that is missing or wrong."""
    from .models.registry import resolve_config

    state = checkpoint.get("state_dict")
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise UserError(f"{path} holds no weights (its state_dict is missing or not tensors); {REFIX}")
    config = checkpoint["config"]
    if not isinstance(config, dict):
        raise UserError(f"{path}: its config is not an object; {REFIX}")
    try:
        arch = resolve_config(config)
    except UserError as exc:
        raise UserError(f"{path}: {exc} (a damaged checkpoint config); {REFIX}") from None
    check_needs(config, path, needs)
    check_weights_fit(state, config, path)


def check_needs(config: Mapping[str, Any], path: os.PathLike | str, needs: tuple = ("classes", "normalization")) -> None:
    """The config entries of ``needs`` ("classes", "normalization"), for a config whose
    architecture ``check_checkpoint`` has checked."""
    from .models.registry import resolve_config

    arch = resolve_config(config)
    classes = config.get("classes")
    if "classes" in needs and (not isinstance(classes, list) or len(classes) != arch["num_classes"] or
                               not all(isinstance(c, dict) and "id" in c and "name" in c for c in classes)):
        raise UserError(f"{path}: its config lacks what a model needs: 'classes', {arch['num_classes']} entries with "
                        f"an id and a name; {REFIX}")
    norm = config.get("normalization")
    bands = arch["in_channels"]
    ok = isinstance(norm, dict) and all(
        isinstance(norm.get(key), list) and len(norm[key]) == bands
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in norm[key])
        for key in ("mean", "std"))
    if "normalization" in needs and (not ok or any(v <= 0 for v in norm["std"])):
        raise UserError(f"{path}: its config lacks what a model needs: 'normalization' with {bands} finite 'mean' "
                        f"and positive 'std' values, one per band; {REFIX}")


def check_weights_fit(state: Mapping[str, torch.Tensor], config: Mapping[str, Any], path: os.PathLike | str) -> None:
    """The weights have the shapes of the architecture the config names (a SimCLR checkpoint
    holds the encoder's only): a config edited or mixed up with other weights is refused here,
    not met as a size-mismatch dump, or silently skipped by a transfer."""
    from .models.registry import build_model

    expected = {key: tuple(value.shape) for key, value in build_model(config).state_dict().items()}
    shared = [key for key in state if key in expected]
    wrong = [key for key in shared if tuple(state[key].shape) != expected[key]]
    if not shared or wrong:
        detail = (f"{wrong[0]} is {list(state[wrong[0]].shape)}, the config's architecture needs "
                  f"{list(expected[wrong[0]])}" if wrong else "no weight of the config's architecture")
        raise UserError(f"{path}: its weights do not fit the architecture its config names ({detail}); the "
                        f"checkpoint is damaged; {REFIX}")


def load_weights(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], path: os.PathLike | str) -> None:
    """``model.load_state_dict(state_dict)``; weights that do not fit the architecture the
    checkpoint's config names are a one-line error, not a size-mismatch dump."""
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as exc:
        first = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc).splitlines()[0])
        raise UserError(f"{path}: its weights do not fit the architecture its config names ({first[:160]}); "
                        f"the checkpoint is damaged; {REFIX}") from None


def require_finite_weights(state_dict: Mapping[str, torch.Tensor], path: os.PathLike | str) -> None:
    """Refuses weights holding NaN or infinity: such a model predicts garbage (and trains none)."""
    broken = [key for key, value in state_dict.items()
              if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if broken:
        raise UserError(f"{path} holds non-finite weights (NaN or infinity in {len(broken)} tensors, e.g. {broken[0]}); "
                        "it is damaged or from a diverged run: use another checkpoint")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
