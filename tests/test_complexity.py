"""The counter reproduces the paper's differences and agrees with an independent counter."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from gradgroup.config.build import deployable_model, experiment_models
from gradgroup.measure.complexity import complexity_report, count_macs
from gradgroup.measure.counts import count_rows, markdown
from gradgroup.models import build_model

from helpers import compose_cfg, experiment_names

ROWS = experiment_names("table3") + experiment_names("table4") + experiment_names("table5")
INCONSISTENT_PARAMS = {"table5/d"}  # docs/paper.md section 3: the paper's own Table 5 D row contradicts its other rows


def _ours_and_paper(name, convention="paper"):
    cfg = compose_cfg([f"experiment={name}", f"complexity.convention={convention}"])
    return complexity_report(deployable_model(cfg), tuple(cfg.complexity.input_hw), convention), cfg.paper


@pytest.fixture(scope="module")
def erfnet():
    return _ours_and_paper("table3/erfnet")


@pytest.mark.parametrize("name", ROWS)
def test_difference_from_erfnet_matches_paper(name, erfnet):
    (base, base_paper), (ours, paper) = erfnet, _ours_and_paper(name)
    if name not in INCONSISTENT_PARAMS:
        assert base["params"] - ours["params"] == base_paper.params - paper.params
        assert abs((base["gmacs"] - ours["gmacs"]) - (base_paper.gmacs - paper.gmacs)) <= 0.01
    else:
        assert base["params"] - ours["params"] == 725_760  # what the other rows imply (1,312,688 printed)


def test_every_paper_row_has_an_experiment():
    assert len(experiment_names("table3")) == 8 and len(experiment_names("table4")) == 4
    assert len(experiment_names("table5")) == 7


def test_shuffle_adds_nothing():
    a, _ = _ours_and_paper("table3/dg4", "exact")
    b, _ = _ours_and_paper("table3/dg4s", "exact")
    assert (a["params"], a["gmacs"]) == (b["params"], b["gmacs"])


@pytest.mark.parametrize("name", ["table3/erfnet", "table3/dg8s", "table4/dg2_proposed", "table5/dg4"])
def test_exact_convention_agrees_with_torch_flop_counter(name):
    cfg = compose_cfg([f"experiment={name}"])
    model = deployable_model(cfg).eval()
    hw = (64, 128)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, *hw))
    # FlopCounterMode counts 2 FLOPs per multiply-accumulate
    assert count_macs(model, hw, "exact") * 2 == counter.get_total_flops()


def test_paper_convention_counts_transposed_convs_at_output_resolution():
    m = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1))
    m.forward_orig = m.forward
    exact = count_macs(_Wrap(m), (8, 8), "exact")
    paper = count_macs(_Wrap(m), (8, 8), "paper")
    assert exact == 4 * 2 * 9 * 8 * 8 and paper == 4 * exact


class _Wrap(torch.nn.Module):
    """Adapts a 4-channel module to the counter's 3-channel input."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(torch.cat([x, x[:, :1]], 1))


def test_default_resolution_is_paper_input():
    cfg = compose_cfg(["experiment=table3/erfnet"])
    assert list(cfg.complexity.input_hw) == [512, 1024]
    assert count_macs(build_model(19), (512, 1024)) > 20e9


def test_report_holds_a_plain_convention_even_from_a_config_enum():
    from enum import Enum

    class Convention(str, Enum):
        paper = "paper"

    report = complexity_report(build_model(19), (32, 64), Convention.paper)
    assert type(report["convention"]) is str and report["convention"] == "paper"
    assert report["macs"] == count_macs(build_model(19), (32, 64), "paper")


def test_counts_table_lists_every_paper_row_once_and_is_the_docs_table():
    from pathlib import Path

    data = count_rows([experiment_models(experiment_names(t)) for t in ("table3", "table4", "table5")])
    # Table order, ERFNet first, then D, DGC and DGCS by group count; Table 4's ERFNet is Table 3's network.
    assert [r["name"] for r in data] == (
        [f"table3/{n}" for n in ("erfnet", "d", "dg2", "dg4", "dg8", "dg2s", "dg4s", "dg8s")]
        + [f"table4/{n}" for n in ("d_proposed", "dg2_proposed", "dg4_proposed")]
        + [f"table5/{n}" for n in ("d", "dg2", "dg4", "dg8", "dg2s", "dg4s", "dg8s")])
    table = markdown(data).splitlines()
    page = (Path(__file__).resolve().parents[1] / "docs" / "counts.md").read_text(encoding="utf-8").splitlines()
    start = page.index(table[0])
    assert page[start:start + len(table)] == table  # `make counts` prints docs/counts.md's counting table



def test_complexity_cli_starts_without_lightning():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradgroup.cli.complexity", "experiment=table3/dg4"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"params": 345535' in proc.stdout and "lightning" not in proc.stderr
