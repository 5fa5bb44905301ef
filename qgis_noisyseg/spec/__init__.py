"""Each command's options, declared once (standard library only, importable by QGIS's Python).

- ``choices``: the words the commands accept, exit codes, JSON event names;
- ``fields``: :func:`option`, the :class:`Option` it carries, validation and the argv;
- ``commands``: one options dataclass per command, shared groups declared once;
- ``arguments``: the argparse subparser built from a spec;
- ``results``: typed results (export, training) and progress events.
"""

from .commands import COMMANDS, STUDIES, spec_for
from .fields import Option, SpecError, from_mapping, option, option_named, options_of, to_argv, validate

__all__ = ["COMMANDS", "STUDIES", "Option", "SpecError", "from_mapping", "option", "option_named", "options_of",
           "spec_for", "to_argv", "validate"]
