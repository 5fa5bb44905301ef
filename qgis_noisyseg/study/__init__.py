"""``noisyseg study``: grids of pretraining and fine-tuning runs that measure what pretraining
on noisy labels buys (label efficiency), how label noise changes it (noise sensitivity), and
what carries over to another decoder, class set or a frozen encoder (transfer).

Every run goes through the commands' own ``run`` (pretrain, finetune, evaluate), so a study
trains exactly as the CLI does, from the typed options that ``settings.TrainingSettings`` builds.
``runner.Study`` makes a study resumable: a run is done when its result file exists, and a
cancelled run continues from its ``last.pt``. ``parsing`` checks the inputs, ``table`` writes
results.csv and the statistics over seeds.
"""
