"""The roofline cost model (measure/roofline.py): the bound of a hand-computed layer, the host's roofs from
the same interleaved rounds as the models, and the Spearman command (gradgroup-roofline)."""
import json

import pytest
import torch
from torch import nn

from gradgroup.measure.layer_costs import op_costs
from gradgroup.measure.roofline import model_bound, op_bound_ms, rank_agreement


class OneConv(nn.Module):
    """The inference form's shape (`layers` then `output`), one 3x3 conv 4 -> 8 channels."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Conv2d(3, 8, 3, padding=1, bias=False)])
        self.output = nn.Identity()

    def forward(self, x):
        return self.output(self.layers[0](x))


def test_bound_of_a_hand_computed_conv():
    # 16 x 16 output pixels x 8 out channels x 3 in channels x 3 x 3 = 55,296 MACs; fp32 bytes: input 3*256,
    # output 8*256, weights 8*3*9 values -> 4 * (768 + 2048 + 216) = 12,128 bytes.
    ops = op_costs(OneConv(), (16, 16))
    assert ops == [{"layer": "encoder 1", "macs": 55_296, "bytes": 12_128}]
    # compute-bound at 1 GFLOP/s and 1 GB/s: 110,592 FLOPs -> 0.110592 ms > 12,128 bytes -> 0.012128 ms
    b = model_bound(OneConv(), (16, 16), peak_gflops=1.0, bandwidth_gbs=1.0)
    assert b["ms"] == pytest.approx(0.110592) and b["compute_ms"] == pytest.approx(0.110592) and b["memory_ms"] == 0
    # memory-bound when bandwidth is scarce: 12,128 bytes at 0.01 GB/s -> 1.2128 ms
    b = model_bound(OneConv(), (16, 16), peak_gflops=1.0, bandwidth_gbs=0.01)
    assert b["ms"] == pytest.approx(1.2128) and b["memory_ms"] == pytest.approx(1.2128)
    assert op_bound_ms(2e9, 1e9, 100.0, 10.0) == pytest.approx(100.0)  # max(20 ms, 100 ms)


def test_rank_agreement_is_spearman_over_the_rows():
    rows = {f"m{i}": {"ms": {"8x8": ms}, "roofline_ms": {"8x8": b}}
            for i, (b, ms) in enumerate([(1, 10), (2, 30), (3, 20), (4, 40)])}
    agree = rank_agreement({"by_backend": {"x": rows}}, "x", "8x8")
    assert agree["n"] == 4 and agree["rho"] == pytest.approx(0.8)  # one swapped pair of 4: 1 - 6*2/60
    assert rank_agreement({"by_backend": {"x": dict(list(rows.items())[:2])}}, "x", "8x8")["rho"] is None


def test_roofline_command_reports_spearman_over_a_small_set(tmp_path, capsys):
    from gradgroup.cli.roofline import main

    out = tmp_path / "roofline.json"
    main(["table3/d", "table3/dg4", "table4/dg4_proposed", "--size", "64x32", "--rounds", "1",
          "--warmup", "0", "--threads", "1", "--out", str(out)])
    text = capsys.readouterr().out
    assert "Spearman rank correlation (scipy.stats.spearmanr), n = 4: rho = " in text
    res = json.loads(out.read_text())
    assert res["spearman"]["n"] == 4 and -1 <= res["spearman"]["rho"] <= 1
    roofs = res["roofline"]
    assert roofs["peak_gflops"]["64x32"] > 0 and roofs["bandwidth_gbs"]["64x32"] > 0  # measured in this run
    for name, row in res["by_backend"]["onnxruntime"].items():
        assert row["roofline_ms"]["64x32"] > 0
        assert row["roofline_fraction"]["64x32"] == pytest.approx(row["roofline_ms"]["64x32"] / row["ms"]["64x32"])


def test_bench_prints_the_roofline_fraction(capsys):
    from gradgroup.cli.bench import main

    main(["table3/dg4", "--backend", "onnxruntime", "--size", "64x32", "--rounds", "1", "--warmup", "0",
          "--threads", "1"])
    out = capsys.readouterr().out
    assert "roofline = the least time" in out and "ms (" in out and "roofline" in out.split("| table3/dg4 |")[1]
