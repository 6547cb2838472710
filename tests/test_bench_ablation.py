"""The ablation summary's pairing and arithmetic (the latency benchmark's tests are in test_bench.py)."""
import json

import pytest

from gradgroup.results.ablation import ablation_arm, summarise


def _run(arm, groups, seed, miou, status="ok"):
    return {"status": status, "table": "ablation", "arm": arm, "groups": groups, "seed": seed, "miou": miou,
            "experiment": f"ablation/dg{groups}_{arm}", "error": None if status == "ok" else "ValueError: boom"}


def test_ablation_pairs_seeds_and_reports_differences():  # records of the old ablation/* experiments
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


def _grouping_run(arm, groups, seed, miou, status="ok"):
    """A record of the ablation as a grouping sweep: experiment=table3/d, table3/dg{G} x grouping=none,gradual."""
    dense = arm == "dense"
    return {"status": status, "table": "ablation", "experiment": "table3/d" if dense else f"table3/dg{groups}",
            "arm": "gradual" if arm == "gradual" else None, "block": "d" if dense else "dgc",
            "groups": 1 if dense else groups, "gradual": arm == "gradual", "seed": seed, "miou": miou,
            "error": None if status == "ok" else "ValueError: boom"}


@pytest.mark.parametrize("make", [_run, _grouping_run])
def test_ablation_pairs_seeds_and_reports_differences_in_both_record_shapes(make):
    runs = [make("direct", 4, 0, 40.0), make("direct", 4, 1, 42.0), make("direct", 4, 2, 41.0),
            make("gradual", 4, 0, 43.0), make("gradual", 4, 1, 41.0), make("gradual", 4, 2, 44.0),
            make("dense", 1, 0, 50.0), make("gradual", 4, 3, 99.0), make("direct", 8, 0, 30.0),
            make("gradual", 8, 0, 31.0), make("direct", 8, 1, None, status="failed")]
    assert summarise(runs) == "\n".join([
        "| arm | G | seeds | mIoU (mean ± std) |", "|---|---|---|---|",
        "| dense | 1 | 1 | 50.00 |", "| direct | 4 | 3 | 41.00 ± 1.00 |", "| gradual | 4 | 4 | 56.75 ± 28.19 |",
        "| direct | 8 | 1 | 30.00 |", "| gradual | 8 | 1 | 31.00 |", "",
        "| G | paired seeds | gradual − direct (mean ± std) | gradual better in |", "|---|---|---|---|",
        "| 4 | 3 | 1.67 ± 2.31 | 2/3 seeds |", "| 8 | 1 | 1.00 | 1/1 seeds |", "",
        f"1 failed job(s): {runs[-1]['experiment']} seed 1: ValueError: boom"])


def test_ablation_arm_comes_from_what_was_trained():
    assert [ablation_arm(_grouping_run(a, 4, 0, 1.0)) for a in ("dense", "direct", "gradual")] == \
        ["dense", "direct", "gradual"]
    # block/gradual win over a stale arm; records without them fall back to arm.
    assert ablation_arm({"block": "dgc", "gradual": False, "arm": "gradual"}) == "direct"
    assert ablation_arm({"arm": "dense"}) == "dense" and ablation_arm({"arm": None}) is None
    # Only table=ablation runs are summarised: a table3 run of the same experiment is not.
    text = summarise([_grouping_run("direct", 4, 0, 40.0) | {"table": "table3"}])
    assert "| direct |" not in text


def test_ablation_cli_writes_the_summary(tmp_path, capsys):
    from gradgroup.cli.ablation import main

    for i, (arm, miou) in enumerate([("direct", 30.0), ("gradual", 31.5), ("dense", 33.0)]):
        d = tmp_path / f"{i}"
        d.mkdir()
        (d / "metrics.json").write_text(json.dumps(_grouping_run(arm, 2, 0, miou)))
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "metrics.json").write_text('{"status": "ok", ')  # a job killed mid-write
    out = tmp_path / "docs" / "ablation.md"
    assert main([str(tmp_path), "--out", str(out), "--header", "made by a test"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("made by a test\n\n| arm | G |") and "| 2 | 1 | 1.50 | 1/1 seeds |" in text
    assert "| dense | 1 | 1 | 33.00 |" in text and "1 failed job(s): 3 seed None: unreadable metrics.json" in text
    assert text == "made by a test\n\n" + capsys.readouterr().out


@pytest.mark.parametrize("setup", ["missing", "empty"])
def test_ablation_cli_bad_sweep_dir_exits_2(tmp_path, capsys, setup):
    from gradgroup.cli.ablation import main

    bad = tmp_path / "nope"
    if setup == "empty":
        bad.mkdir()
    with pytest.raises(SystemExit) as exc:
        main([str(bad)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("gradgroup-ablation: error: ") and str(bad) in err
