"""Training: the LightningModule, the procedures (standard, two-phase), one fit, and the run itself.

`gradgroup.training.run.train(cfg, run_dir)` is the entry point that tests and `gradgroup-train` call.
"""
