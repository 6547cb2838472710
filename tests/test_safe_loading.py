"""Nothing a user hands in, or a run recorded, may run code: every loader refuses a crafted pickle.

Each loader gets a file whose unpickling would write a marker file (`__reduce__`), in torch's zip format
and as a raw pickle, plus a truncated file: the marker must never appear, and the error must name the
file and the key it came from. One CLI run checks the exit status (2) for `ckpt_path=`.
"""
import os
import pickle
from types import SimpleNamespace

import pytest
import torch

from gradgroup.errors import ConfigError
from gradgroup.models.weights_file import load_weights_file
from gradgroup.training.checkpoints import AtomicCheckpointIO, check_resume_checkpoint
from gradgroup.training.fitter import Fitter
from gradgroup.training.procedures import TwoPhaseProcedure
from helpers import run_cli


class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):  # what a crafted checkpoint does: call anything on load
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(params=["torch_zip", "raw_pickle", "truncated"])
def crafted(request, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / f"evil_{request.param}.ckpt"
    blob = {"state_dict": {"w": torch.zeros(2)}, "epoch": 0, "global_step": 0, "loops": {}, "x": Evil(marker)}
    if request.param == "torch_zip":
        torch.save(blob, path)
    elif request.param == "raw_pickle":
        path.write_bytes(pickle.dumps(blob))
    else:
        torch.save({"state_dict": {"w": torch.zeros(1000)}}, path)
        path.write_bytes(path.read_bytes()[:300])
    return path, marker


def _loaders(path):
    spec = SimpleNamespace(build=None)
    best = SimpleNamespace(checkpoint_callback=SimpleNamespace(best_model_path=str(path)))
    return {
        "procedure.encoder_checkpoint": lambda: TwoPhaseProcedure.load_encoder_checkpoint(spec, str(path)),
        "eval.checkpoint=best": lambda: Fitter.load_weights(torch.nn.Module(), best, "best"),
        "ckpt_path": lambda: check_resume_checkpoint(path),
        "ckpt_path (Lightning)": lambda: AtomicCheckpointIO().load_checkpoint(path),
        "converted.pt": lambda: load_weights_file(path, "converted_checkpoint", "a converted.pt"),
    }


@pytest.mark.parametrize("loader", ["procedure.encoder_checkpoint", "eval.checkpoint=best", "ckpt_path",
                                    "ckpt_path (Lightning)", "converted.pt"])
def test_every_loader_refuses_code_and_names_the_file(crafted, loader):
    path, marker = crafted
    with pytest.raises(ConfigError) as err:
        _loaders(path)[loader]()
    assert not marker.exists(), "the crafted file ran code"
    msg = str(err.value)
    assert str(path) in msg and loader.split(" ")[0].split("=")[0] in msg
    assert "weights_only=False" not in msg  # never advise the unsafe way out


def test_a_weights_file_is_not_a_resume_checkpoint(tmp_path):
    path = tmp_path / "encoder.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)
    with pytest.raises(ConfigError, match="not a training checkpoint"):
        check_resume_checkpoint(path)


def test_cli_resume_from_a_crafted_checkpoint_exits_2_and_runs_nothing(data_cache, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {}, "epoch": 0, "global_step": 0, "loops": {}, "x": Evil(marker)}, path)
    run_dir = tmp_path / "run"
    proc = run_cli(["gradgroup.cli.train", "preset=smoke", "experiment=table3/dg4", f"hydra.run.dir={run_dir}",
                    f"ckpt_path={path}"], data_cache, tmp_path, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert str(path) in proc.stderr and "ckpt_path" in proc.stderr and not marker.exists()
    assert not (run_dir / "checkpoints").exists()  # refused before anything trained
