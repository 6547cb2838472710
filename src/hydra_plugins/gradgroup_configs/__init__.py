"""Puts gradgroup's sweep files on every Hydra app's search path (`--config-name table3` finds sweeps/table3.yaml)."""
