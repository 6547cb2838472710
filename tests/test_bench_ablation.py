"""The latency benchmark's structure, and the ablation summary's pairing and arithmetic."""
import json

import pytest

from gradgroup.ablation import summarise
from gradgroup.bench import measure_latency


def test_latency_is_measured_side_by_side_with_erfnet_as_reference():
    res = measure_latency(["table3/dg4"], resolutions=[(32, 64)], rounds=2, warmup=1, threads=1, progress=False)
    meta = res.pop("_meta")
    assert set(res) == {"table3/erfnet", "table3/dg4"} and meta["threads"] == 1 and meta["batch"] == 1
    assert res["table3/erfnet"]["ratio_vs_erfnet"]["32x64"] == pytest.approx(1.0)
    dg4 = res["table3/dg4"]
    assert dg4["ms"]["32x64"] > 0
    assert dg4["ratio_vs_erfnet"]["32x64"] == pytest.approx(dg4["ms"]["32x64"] / res["table3/erfnet"]["ms"]["32x64"])


def _run(arm, groups, seed, miou, status="ok"):
    return {"status": status, "table": "ablation", "arm": arm, "groups": groups, "seed": seed, "miou": miou,
            "experiment": f"ablation/dg{groups}_{arm}", "error": None if status == "ok" else "ValueError: boom"}


def test_ablation_pairs_seeds_and_reports_differences():
    runs = [_run("direct", 4, 0, 40.0), _run("direct", 4, 1, 42.0), _run("direct", 4, 2, 41.0),
            _run("gradual", 4, 0, 43.0), _run("gradual", 4, 1, 41.0), _run("gradual", 4, 2, 44.0),
            _run("dense", 1, 0, 50.0), _run("gradual", 4, 3, 99.0),  # seed 3 has no direct partner
            _run("direct", 8, 0, None, status="failed")]
    text = summarise(runs)
    assert "| direct | 4 | 3 | 41.00 ± 1.00 |" in text
    assert "| dense | 1 | 1 | 50.00 |" in text
    # paired differences 3, -1, 3 -> mean 1.67, sample std 2.31; seed 3 is left out of the pairing
    assert "| 4 | 3 | 1.67 ± 2.31 | 2/3 seeds |" in text
    assert "1 failed job(s)" in text and "boom" in text


def test_ablation_cli_writes_the_summary(tmp_path):
    from gradgroup.ablation import main

    for i, (arm, miou) in enumerate([("direct", 30.0), ("gradual", 31.5)]):
        d = tmp_path / f"{i}"
        d.mkdir()
        (d / "metrics.json").write_text(json.dumps(_run(arm, 2, 0, miou)))
    out = tmp_path / "docs" / "ablation.md"
    main([str(tmp_path), "--out", str(out), "--header", "made by a test"])
    text = out.read_text()
    assert text.startswith("made by a test") and "| 2 | 1 | 1.50 | 1/1 seeds |" in text
