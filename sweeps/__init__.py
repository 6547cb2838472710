# Makes sweeps/ a package inside a wheel (gradgroup.sweeps): Hydra reads a pkg:// search path only from a
# module with an __init__.py. People edit the YAML files here; pyproject.toml ships them as package data.
