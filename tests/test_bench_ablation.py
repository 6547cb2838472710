"""The ablation/study summary: arms, pairing by seed, the comparisons and `gradgroup-ablation [--json]`
(the statistics themselves are tested in test_stats.py; the latency benchmark's tests in test_bench.py)."""
import json

import pytest

from gradgroup.results.ablation import ablation_arm, comparison_records, summarise


def _run(arm, groups, seed, miou, status="ok", epochs=12):
    """A record of the ablation/study sweeps: experiment=table3/d, table3/dg{G} x grouping=none|abrupt|gradual|cosine."""
    dense = arm == "dense"
    return {"status": status, "table": "ablation", "experiment": "table3/d" if dense else f"table3/dg{groups}",
            "arm": None if arm in ("dense", "direct") else arm, "block": "d" if dense else "dgc", "epochs": epochs,
            "groups": 1 if dense else groups, "gradual": arm not in ("dense", "direct"), "seed": seed, "miou": miou,
            "error": None if status == "ok" else "ValueError: boom"}


def test_summary_pairs_seeds_and_reports_n_and_intervals():
    runs = [_run("direct", 4, 0, 40.0), _run("direct", 4, 1, 42.0), _run("direct", 4, 2, 41.0),
            _run("gradual", 4, 0, 43.0), _run("gradual", 4, 1, 41.0), _run("gradual", 4, 2, 44.0),
            _run("dense", 1, 0, 50.0), _run("gradual", 4, 3, 99.0), _run("direct", 8, 0, 30.0),
            _run("gradual", 8, 0, 31.0), _run("direct", 8, 1, None, status="failed"),
            _run("direct", 2, 0, 20.0), _run("abrupt", 2, 0, 20.0), _run("direct", 2, 1, 21.0), _run("abrupt", 2, 1, 22.0)]
    text = summarise(runs)
    assert "| abrupt − direct | 2 | 12 | 2 | +0.50 | [+0.00, +1.00] | 1 | 1 | 1/2 seeds (1 tied) | - |" in text
    assert "| direct | 4 | 12 | 3 | 41.00 ± 1.00 | [38.52, 43.48] |" in text  # t(2) 4.303 x 1 / sqrt(3)
    assert "| dense | 1 | 12 | 1 | 50.00 | - |" in text
    # paired differences 3, -1, 3 (seed 3 has no direct partner): mean +1.67, p = 4/8 sign patterns
    assert "| gradual − direct | 4 | 12 | 3 | +1.67 | [-1.00, +3.00] | 0.5 | 1 | 2/3 seeds | - |" in text
    assert "| gradual − direct | 8 | 12 | 1 | +1.00 | - | 1 | 1 | 1/1 seeds | - |" in text
    assert "1 failed job(s): table3/dg8 seed 1: ValueError: boom" in text


def test_comparisons_per_group_count_and_budget_with_holm_across_all():
    wins = [1.0, 2.0, 1.5, 3.0, 0.5, 2.5]  # gradual beats direct on all 6 seeds at G=4, 12 epochs
    runs = []
    for s, w in enumerate(wins):
        runs += [_run("direct", 4, s, 40.0 + s), _run("gradual", 4, s, 40.0 + s + w), _run("abrupt", 4, s, 40.0 + s + w / 2),
                 _run("direct", 4, s, 50.0, epochs=32), _run("gradual", 4, s, 50.0 + (-1) ** s * w, epochs=32),
                 _run("cosine", 4, s, 41.0 + s)]
    got = {(c["arm"], c["baseline"], c["epochs"]): c for c in comparison_records(runs)}
    assert sorted(got) == [("abrupt", "direct", 12), ("cosine", "direct", 12), ("gradual", "abrupt", 12),
                           ("gradual", "direct", 12), ("gradual", "direct", 32)]
    g = got[("gradual", "direct", 12)]
    assert list(g)[:11] == ["arm", "baseline", "groups", "epochs", "n", "mean_diff", "ci_low", "ci_high", "p_value",
                            "p_holm", "prob_improvement"]
    assert g["n"] == 6 and g["p_value"] == 0.03125 and g["prob_improvement"] == 1.0 and g["seeds"] == list(range(6))
    assert g["mean_diff"] == pytest.approx(sum(wins) / 6)
    # Five comparisons; the 12-epoch ones of all-positive differences (p = 1/32) are the smallest -> x5, x4, ...
    ps = sorted(c["p_value"] for c in got.values())
    assert ps[:4] == [0.03125] * 4 and g["p_holm"] == pytest.approx(5 * 0.03125)
    assert got[("cosine", "direct", 12)]["mean_diff"] == 1.0 and got[("cosine", "direct", 12)]["p_value"] == 0.03125
    long = got[("gradual", "direct", 32)]  # alternating signs: no effect detected
    assert long["p_value"] > 0.4 and long["ci_low"] < 0 < long["ci_high"]


def test_ablation_arm_comes_from_what_was_trained():
    assert [ablation_arm(_run(a, 4, 0, 1.0)) for a in ("dense", "direct", "abrupt", "gradual", "cosine")] == \
        ["dense", "direct", "abrupt", "gradual", "cosine"]
    # block/gradual win over a stale arm; a gradual record without an arm is "gradual"; no block, no arm.
    assert ablation_arm({"block": "dgc", "gradual": False, "arm": "gradual"}) == "direct"
    assert ablation_arm({"block": "dgc", "gradual": True, "arm": None}) == "gradual"
    assert ablation_arm({"arm": "dense"}) is None
    # Only table=ablation runs are summarised: a table3 run of the same experiment is not.
    text = summarise([_run("direct", 4, 0, 40.0) | {"table": "table3"}])
    assert "| direct |" not in text


def _write(tmp_path, runs):
    for i, run in enumerate(runs):
        d = tmp_path / f"{i}"
        d.mkdir()
        (d / "metrics.json").write_text(json.dumps(run))


def test_ablation_cli_writes_the_summary(tmp_path, capsys):
    from gradgroup.cli.ablation import main

    _write(tmp_path, [_run("direct", 2, 0, 30.0), _run("gradual", 2, 0, 31.5), _run("dense", 1, 0, 33.0)])
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "metrics.json").write_text('{"status": "ok", ')  # a job killed mid-write
    out = tmp_path / "docs" / "ablation.md"
    assert main([str(tmp_path), "--out", str(out), "--header", "made by a test"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("made by a test\n\n| arm | G |") and "| gradual − direct | 2 | 12 | 1 | +1.50 |" in text
    assert "| dense | 1 | 12 | 1 | 33.00 | - |" in text and "1 failed job(s): 3 seed None: unreadable metrics.json" in text
    assert text == "made by a test\n\n" + capsys.readouterr().out


def test_ablation_cli_json_gives_the_exact_p_of_six_positive_pairs(tmp_path, capsys):
    from gradgroup.cli.ablation import main

    _write(tmp_path, [_run(arm, 4, s, 40.0 + s + (0.3 + s / 10 if arm == "gradual" else 0))
                      for s in range(6) for arm in ("direct", "gradual")])
    assert main([str(tmp_path), "--json"]) == 0
    (got,) = json.loads(capsys.readouterr().out)
    assert (got["arm"], got["baseline"], got["groups"], got["epochs"], got["n"]) == ("gradual", "direct", 4, 12, 6)
    assert got["p_value"] == 0.03125 and got["p_holm"] == 0.03125 and got["prob_improvement"] == 1.0
    assert got["mean_diff"] == pytest.approx(0.55) and 0.3 <= got["ci_low"] < 0.55 < got["ci_high"] <= 0.8


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
