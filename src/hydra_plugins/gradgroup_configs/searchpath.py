"""A Hydra SearchPathPlugin: gradgroup's sweeps/ after the app's own config folder.

The sweep files (sweeps/*.yaml, e.g. table3.yaml) are primary configs whose defaults list `train`, so with
this plugin `gradgroup-train --config-name table3 preset=smoke` runs a sweep from any working directory, in
a checkout (its sweeps/) and from a wheel (the packaged copy, pkg://gradgroup.sweeps) alike. It appends,
so `--config-dir DIR` (prepended by Hydra) still wins; it adds nothing for other Hydra apps' names unless
they look a sweep name up. Hydra imports this module whenever any Hydra app starts: it reads only
gradgroup.config.compose (Hydra, OmegaConf and the schema; no torch).
"""
from __future__ import annotations

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

from gradgroup.config.compose import SWEEPS_SOURCE


class GradgroupSweepsSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="gradgroup-sweeps", path=SWEEPS_SOURCE)
