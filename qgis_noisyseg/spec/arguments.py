"""The argparse side of a spec: the subparser's arguments, and the check of parsed values."""

from __future__ import annotations

import argparse
from typing import Any, Iterable, Optional

from .fields import Option, SpecError, command_line_order, from_mapping, options_of


def add_arguments(parser: argparse.ArgumentParser, spec, skip: Iterable[str] = (),
                  group_titles: Optional[dict] = None) -> None:
    """Adds one argument per option of ``spec`` (an options dataclass). Each argument's default is
    the spec's; its help names the default and the bounds, so ``--help`` cannot drift."""
    skip = set(skip)
    for found in command_line_order(spec):
        if found.dest in skip:
            continue
        parser.add_argument(found.flag, **argument_kwargs(found))


def argument_kwargs(found: Option) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dest": found.dest, "help": _help(found)}
    if found.type is bool:
        kwargs["action"] = "store_true"
        return kwargs
    if found.required:
        kwargs["required"] = True
    if found.repeat:
        kwargs["action"] = "append"
    else:
        kwargs["default"] = found.default
    if found.type in (int, float):
        kwargs["type"] = found.type
    if found.choices:
        kwargs["choices"] = found.choices
    if found.metavar is not None:
        kwargs["metavar"] = found.metavar
    if found.nargs:
        kwargs["nargs"] = found.nargs
    return kwargs


def _help(found: Option) -> str:
    notes = []
    bounds = found.bounds_text()
    if bounds:
        notes.append(bounds)
    if found.default not in (None, False, "", []) and "default" not in found.help:
        notes.append(f"default {found.default}")
    text = found.help + (f" ({'; '.join(notes)})" if notes else "")
    return text.replace("%", "%%")


def check_namespace(spec, args: argparse.Namespace) -> Any:
    """The parsed arguments as an instance of ``spec``, every value checked: SpecError names the
    flag of the first value out of bounds."""
    options = from_mapping(spec, args)
    for found in options_of(spec):
        found.check(getattr(options, found.dest))
    check = getattr(options, "check", None)
    if callable(check):
        check()
    return options


__all__ = ["add_arguments", "argument_kwargs", "check_namespace", "SpecError"]
