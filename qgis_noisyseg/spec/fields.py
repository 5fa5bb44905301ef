"""One option of one command: its flag, help, type, choices, bounds and default, declared once.

A command's options are a dataclass whose fields are made with :func:`option`; everything else
(the argparse subparser, validation, the subprocess argv, the Processing parameters and the
panel's defaults and bounds) is derived from those fields. Standard library only: QGIS's Python
imports this package, the backend's too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Optional


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - marks text for pylupdate, like Qt's
    return text


class SpecError(ValueError):
    """A value outside its option's bounds or choices: one line that names the flag and the fix."""


@dataclass(frozen=True)
class Option:
    """What a field of an options dataclass means to the outside world.

    ``label`` is the short, translatable text that Processing and the panel show (context
    ``NoisySeg``); ``help`` is the CLI's longer text. ``above``/``below`` are exclusive bounds,
    ``minimum``/``maximum`` inclusive ones. ``cli_only`` says why an option has no Processing
    parameter (empty: it has one). ``kind`` tells Processing what widget an option needs beyond
    its type: ``folder``/``file``/``layer``/``raster`` inputs, ``folder-out``/``file-out``/
    ``raster-out`` destinations."""

    flag: str
    help: str
    type: type = str
    label: str = ""
    choices: tuple = ()
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    above: Optional[float] = None
    below: Optional[float] = None
    multiple_of: Optional[int] = None
    required: bool = False
    advanced: bool = False
    cli_only: str = ""
    kind: str = ""
    metavar: Optional[Any] = None
    nargs: Optional[int] = None
    repeat: bool = False
    extension: str = ""
    why: str = ""  # appended to a bound's error: why the bound exists
    dest: str = ""
    default: Any = None

    @property
    def parameter(self) -> str:
        """The Processing parameter's name: the flag in capitals (``--batch-size`` -> BATCH_SIZE)."""
        return self.dest.upper()

    def bounds_text(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f"at least {_num(self.minimum)}")
        if self.above is not None:
            parts.append(f"above {_num(self.above)}")
        if self.maximum is not None:
            parts.append(f"at most {_num(self.maximum)}")
        if self.below is not None:
            parts.append(f"below {_num(self.below)}")
        if self.multiple_of:
            parts.insert(0, f"a multiple of {self.multiple_of}")
        return " and ".join(parts)

    def check(self, value: Any) -> None:
        """Raises SpecError (one line naming the flag) for a value this option refuses."""
        if value is None:
            if self.required:
                raise SpecError(f"{self.flag} is required")
            return
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            self._check_one(item)

    def _check_one(self, value: Any) -> None:
        if self.choices and value not in self.choices:
            raise SpecError(f"{self.flag} must be one of {', '.join(map(str, self.choices))}, got {value}")
        if self.type not in (int, float) or isinstance(value, bool):
            return
        if self.type is float and not math.isfinite(value):
            raise SpecError(f"{self.flag} must be a finite number, not {self.flag} {value}")
        bad = ((self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum)
               or (self.above is not None and value <= self.above) or (self.below is not None and value >= self.below)
               or (self.multiple_of and value % self.multiple_of))
        if not bad:
            return
        why = f" ({self.why})" if self.why else ""
        hint = ""
        if self.multiple_of:
            smallest = int(self.minimum or self.multiple_of)
            low = int(value) // self.multiple_of * self.multiple_of
            hint = f"; use {smallest}" if low < smallest else f"; use {low} or {low + self.multiple_of}"
        raise SpecError(f"{self.flag} must be {self.bounds_text()}{why}, not {self.flag} {_num(value)}{hint}")


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def option(flag: str, default: Any = None, help: str = "", **details: Any):  # noqa: A002 - argparse's word
    """A dataclass field that carries its :class:`Option`. A mutable default (a list) is copied."""
    if isinstance(default, bool):
        details.setdefault("type", bool)
    meta = {"option": Option(flag=flag, help=help, default=default, **details)}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def options_of(spec) -> list[Option]:
    """The options of an options dataclass (or instance), in declaration order, each with its
    ``dest`` and its default as declared in that class (a subclass may change a default)."""
    found = []
    for f in dataclasses.fields(spec):
        meta = f.metadata.get("option")
        if meta is None:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        found.append(dataclasses.replace(meta, dest=f.name, default=default))
    return found


LAST = ("resume", "overwrite")


def command_line_order(spec) -> list[Option]:
    """The options as ``--help`` and a written command line show them: required ones first, then
    the others as declared, --resume and --overwrite last."""
    found = options_of(spec)
    return ([o for o in found if o.required] + [o for o in found if not o.required and o.dest not in LAST]
            + [o for o in found if o.dest in LAST and not o.required])


def option_named(spec, dest: str) -> Option:
    for found in options_of(spec):
        if found.dest == dest:
            return found
    raise KeyError(f"{getattr(spec, '__name__', spec)} has no option {dest}")


def validate(options) -> None:
    """Checks every field of an options instance against its option; raises SpecError."""
    for found in options_of(options):
        found.check(getattr(options, found.dest))
    check = getattr(options, "check", None)
    if callable(check):
        check()


def from_mapping(spec, values) -> Any:
    """An instance of ``spec`` from a mapping or a namespace (unknown keys are ignored)."""
    get = values.get if isinstance(values, dict) else (lambda key, default: getattr(values, key, default))
    kwargs = {}
    for f in dataclasses.fields(spec):
        missing = object()
        value = get(f.name, missing)
        if value is not missing:
            kwargs[f.name] = value
    return spec(**kwargs)


def replace(options, **changes: Any):
    return dataclasses.replace(options, **changes)


def to_argv(options, explicit: bool = False) -> list[str]:
    """The command-line arguments that give ``options`` (an instance) to the command: each option
    that differs from its default (or, with ``explicit``, every option that has a value). The
    required inputs come first, then the required outputs, then the rest in declaration order, as
    one would type them."""
    argv: list[str] = []
    found_options = options_of(options)
    order = sorted(range(len(found_options)), key=lambda i: (
        not found_options[i].required, str(found_options[i].kind or "").endswith("-out") or found_options[i].dest == "out", i))
    for found in (found_options[i] for i in order):
        value = getattr(options, found.dest)
        if value is None or (not explicit and not found.required and value == found.default):
            continue
        if found.type is bool:
            argv += [found.flag] if value else []
        elif found.repeat:
            for item in value:
                argv += [found.flag, _text(item)]
        elif found.nargs:
            argv += [found.flag, *(_text(item) for item in value)]
        else:
            argv += [found.flag, _text(value)]
    return argv


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)
