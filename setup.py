"""The package list, which pyproject.toml cannot state as a find plus the config folders: every package
under src/ (gradgroup, hydra_plugins.*), plus the top-level conf/ and sweeps/ (the folders people edit,
the one copy in the repository) as gradgroup.conf and gradgroup.sweeps with their YAML files as package
data (pyproject.toml's package-dir maps the two folders; config/compose.py finds whichever copy is there)."""
from setuptools import find_namespace_packages, setup

CONFIGS = {"gradgroup.conf": "conf", "gradgroup.sweeps": "sweeps"}
config_packages = [f"{name}.{sub}" if sub else name for name, folder in CONFIGS.items()
                   for sub in ["", *find_namespace_packages(folder)]]
setup(packages=find_namespace_packages("src", include=["gradgroup*", "hydra_plugins*"]) + config_packages,
      package_data={name: ["*.yaml"] for name in config_packages})
