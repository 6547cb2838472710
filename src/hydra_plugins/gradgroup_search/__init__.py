"""gradgroup's Hydra sweeper: a multi-objective placement search on Optuna (hydra/sweeper=gradgroup_search)."""
