"""Job-keeping: what a training job does besides learning (docs/architecture.md).

The run dir's lock and record (`lifecycle`, `record`), signals and stops (`signals`, `endings`), SLURM's
requeue and its record fields (`slurm`), the joblib launcher watch (`launcher_watch`) and who writes under
DDP (`ranks`). It knows nothing of models, data or Lightning's loops: `training/` keeps the learning and
hands the lifecycle what it needs (the resume preparation) as a function.
"""
