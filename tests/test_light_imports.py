"""Light commands stay light (issue 15): what importing a command loads, asked of a fresh interpreter.

`gradgroup-complexity`, `gradgroup-table` and the counts command start in a second, so they must not load
onnxruntime, onnx, Lightning or wandb; a training job must not load onnxruntime (nor onnx).
"""
import json
import subprocess
import sys

import pytest

HEAVY = ("onnxruntime", "onnx", "lightning", "pytorch_lightning", "wandb")
FORBIDDEN = {
    "gradgroup.cli.complexity": HEAVY,
    "gradgroup.cli.table": HEAVY,
    "gradgroup.cli.counts": HEAVY,
    "gradgroup.cli.train": ("onnxruntime", "onnx"),
    "gradgroup.training.run": ("onnxruntime", "onnx"),
}


def loaded(module: str, names) -> list[str]:
    code = (f"import json, sys, {module}; "
            f"print(json.dumps(sorted(m for m in {list(names)!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_importing_a_command_loads_nothing_heavy(module):
    assert loaded(module, FORBIDDEN[module]) == []


def test_the_check_sees_a_heavy_import():
    """The probe is not blind: importing the latency module does load onnxruntime."""
    assert loaded("gradgroup.measure.latency", ["onnxruntime"]) == ["onnxruntime"]
