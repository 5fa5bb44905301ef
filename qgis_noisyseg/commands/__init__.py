"""One module per ``noisyseg`` sub-command: ``add_arguments(parser)`` and ``run(args, reporter)``."""
