"""Checkpoints as plain dicts of tensors and a JSON config (docs/contracts.md), never pickles."""

from __future__ import annotations

import json
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
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(path: os.PathLike | str) -> dict[str, Any]:
    """The checkpoint dict with ``config`` (the parsed ``config_json``) added.

    Loads with ``weights_only=True``: a file holding pickled Python objects is refused, not run.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(f"{path} is not a safe checkpoint (it holds pickled Python objects); refusing to load it") from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise UserError(f"{path} is not a readable checkpoint ({exc})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise UserError(f"{path} is not a noisyseg checkpoint")
    if checkpoint.get("format_version", 0) > FORMAT_VERSION:
        raise UserError(f"{path} was written by a newer qgis_noisyseg; upgrade the plugin")
    try:
        checkpoint["config"] = json.loads(checkpoint["config_json"])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise UserError(f"{path} has no valid config_json") from None
    return checkpoint


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
