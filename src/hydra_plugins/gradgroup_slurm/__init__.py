"""gradgroup's SLURM launcher: submitit_slurm that waits for every job of a sweep (hydra/launcher=slurm)."""
