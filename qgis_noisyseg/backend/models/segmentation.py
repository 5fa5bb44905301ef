"""The segmentation model and the functions that freeze, train and transfer its parts.

A *part* is a top-level child: ``encoder``, ``decoder`` or ``head``. A *block* is a stage of a
part that lists them with ``block_names()`` (``encoder.stem``, ``encoder.layer1``, ...,
``decoder.block1``, ...); a part without ``block_names`` (the head) is a single block. Functions
taking ``parts`` accept part names, full block names and unambiguous short block names
(``"layer1"`` for ``encoder.layer1``).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

import torch
from torch import Tensor, nn

from ...core.errors import UserError

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.SyncBatchNorm)


class SegmentationModel(nn.Module):
    """``encoder`` -> ``decoder`` -> ``head``: images ``[N, bands, H, W]`` to logits
    ``[N, classes, H, W]``.

    H and W must be multiples of ``input_multiple`` (32). ``train()`` keeps the BatchNorm layers
    of frozen parts in eval mode (see ``set_train_mode``).
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, head: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.head = head

    @property
    def input_multiple(self) -> int:
        return self.encoder.reductions[-1]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.decoder(self.encoder(x)))

    def train(self, mode: bool = True) -> SegmentationModel:
        return set_train_mode(self, mode)


def named_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's blocks in forward order: ``encoder.stem`` ... ``decoder.block5``, ``head``."""
    blocks = []
    for part_name, part in model.named_children():
        if hasattr(part, "block_names"):
            blocks += [(f"{part_name}.{name}", getattr(part, name)) for name in part.block_names()]
        else:
            blocks.append((part_name, part))
    return blocks


def _resolve_parts(model: nn.Module, parts: Iterable[str]) -> list[str]:
    """Full names (``encoder``, ``encoder.layer1``, ...) of the given parts or blocks."""
    if isinstance(parts, str):
        parts = [parts]
    full_names = [name for name, _ in model.named_children()]
    full_names += [name for name, _ in named_blocks(model) if name not in full_names]
    resolved = []
    for part in parts:
        matches = [part] if part in full_names else [
            name for name in full_names if name.rsplit(".", 1)[-1] == part
        ]
        if len(matches) != 1:
            raise UserError(
                f"Unknown or ambiguous model part {part!r}. Valid parts: {', '.join(full_names)} "
                "(a block's short name, e.g. 'layer1', also works)."
            )
        resolved.append(matches[0])
    return resolved


def set_train_mode(model: nn.Module, mode: bool = True) -> nn.Module:
    """``model.train(mode)``, except that BatchNorm layers whose parameters are all frozen stay
    in eval mode, so their running statistics stay those of the weights they belong to."""
    nn.Module.train(model, mode)
    if mode:
        for module in model.modules():
            if isinstance(module, _BATCH_NORMS):
                params = list(module.parameters(recurse=False))
                if params and not any(p.requires_grad for p in params):
                    module.eval()
    return model


def freeze(model: nn.Module, parts: Iterable[str]) -> None:
    """Stop training the given parts or blocks: no gradients, BatchNorm statistics fixed."""
    for name in _resolve_parts(model, parts):
        model.get_submodule(name).requires_grad_(False)
    if model.training:
        set_train_mode(model)


def unfreeze(model: nn.Module, parts: Optional[Iterable[str]] = None) -> None:
    """Undo ``freeze`` for the given parts or blocks (all of the model when ``parts`` is None)."""
    names = [""] if parts is None else _resolve_parts(model, parts)
    for name in names:
        model.get_submodule(name).requires_grad_(True)
    if model.training:
        set_train_mode(model)


def transfer_weights(
    target: nn.Module,
    source_state_dict: Mapping[str, Tensor],
    parts: Iterable[str] = ("encoder",),
) -> dict[str, Any]:
    """Copy the given parts' parameters and buffers from a state dict into ``target``, in place.

    Keys are matched by name (a ``SimCLRModel``'s ``encoder.*`` match a ``SegmentationModel``'s).
    A tensor whose shape differs (another band count in the stem, another class count in the
    head) keeps ``target``'s value and is reported, not raised. Returns ``{"copied": number of
    tensors copied, "skipped_shape_mismatch": [keys], "missing": [keys absent from the source]}``.
    """
    prefixes = tuple(f"{name}." for name in _resolve_parts(target, parts))
    report: dict[str, Any] = {"copied": 0, "skipped_shape_mismatch": [], "missing": []}
    with torch.no_grad():
        for key, tensor in target.state_dict().items():
            if not key.startswith(prefixes):
                continue
            if key not in source_state_dict:
                report["missing"].append(key)
            elif source_state_dict[key].shape != tensor.shape:
                report["skipped_shape_mismatch"].append(key)
            else:
                tensor.copy_(source_state_dict[key])
                report["copied"] += 1
    return report
