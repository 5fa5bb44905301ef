"""``noisyseg demo``: the whole story on the bundled Denmark Sentinel-2 scene.

The operator's situation: an old, incomplete parcel map (the noisy labels) and a few corrected
tiles, here taken from the full 2016 map. The demo exports both on one tile grid, pretrains on
the old map, fine-tunes on K clean tiles and trains from scratch on the same tiles, evaluates
every model on held-out test tiles, predicts the whole scene, compares the models layer by
layer, and writes a report, figures and a QGIS project (built by QGIS in its own process).

- ``scene``: the bundled scene, the full and quick settings, reading the inputs;
- ``story``: the steps, each a command run in this process from its typed options;
- ``report``: report.md, results.csv and the headline (statistics over seeds from study.table);
- ``figures``: the PNG figures;
- ``project``: the spec of demo.qgz and the run of its builder (gui/demo_project.py) through
  bridge.BackendProcess.

``commands/demo.py`` is the CLI entry: its options (spec.commands.DemoOptions) and ``run``.
"""
