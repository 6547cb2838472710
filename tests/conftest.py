import os

# wandb never needs an account or network in tests
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

import pytest


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory):
    """One generated dataset cache for the whole session (the datamodule caches by generator params)."""
    return tmp_path_factory.mktemp("data_cache")
