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
    assert ("| exploratory | abrupt − direct | 2 | 12 | 2 | +0.50 | - | 1 | - | inconclusive (too few paired seeds "
            "for any interval) | 1/2 seeds (1 tied) | - |") in text
    assert "| direct | 4 | 12 | 3 | 41.00 ± 1.00 | [38.52, 43.48] |" in text  # t(2) 4.303 x 1 / sqrt(3)
    assert "| dense | 1 | 12 | 1 | 50.00 | - |" in text
    # paired differences 3, -1, 3 (seed 3 has no direct partner): mean +1.67, p = 4/8 sign patterns
    assert "| exploratory | gradual − direct | 4 | 12 | 3 | +1.67 | - | 0.5 | - |" in text
    assert "| exploratory | gradual − direct | 8 | 12 | 1 | +1.00 | - | 1 | - |" in text
    assert "1 failed job(s): table3/dg8 seed 1: ValueError: boom" in text


def _study_runs(primary_wins, epochs=32, secondary=True):
    runs = []
    for s, w in enumerate(primary_wins):
        runs += [_run("direct_matched", 4, s, 40.0 + s, epochs=epochs), _run("gradual", 4, s, 40.0 + s + w, epochs=epochs),
                 _run("direct_matched", 4, s, 30.0 + s, epochs=6), _run("gradual", 4, s, 30.0 + s + w, epochs=6),
                 _run("direct", 4, s, 40.0 + s + 0.01 * (-1) ** s, epochs=epochs)]
        if secondary:
            runs += [_run("abrupt", 4, s, 40.0 + s + w / 2, epochs=epochs),
                     _run("direct_matched", 2, s, 45.0 + s, epochs=epochs), _run("gradual", 2, s, 45.0 + s + w, epochs=epochs)]
    return runs


def test_roles_follow_the_plan_primary_alone_holm_over_the_secondary_three_the_rest_exploratory():
    wins = [1.0, 2.0, 1.5, 3.0, 0.5, 2.5, 1.2, 0.8]  # gradual ahead on all 8 seeds everywhere: p = 2/256
    got = {(c["arm"], c["baseline"], c["groups"], c["epochs"]): c for c in comparison_records(_study_runs(wins))}
    primary = got[("gradual", "direct_matched", 4, 32)]
    assert list(primary)[:13] == ["role", "arm", "baseline", "groups", "epochs", "n", "mean_diff", "ci_low", "ci_high",
                                  "p_value", "p_holm", "verdict", "prob_improvement"]
    assert primary["role"] == "primary" and primary["p_value"] == 2 / 256 and primary["p_holm"] is None
    assert primary["verdict"] == "better" and 0 < primary["ci_low"] < primary["mean_diff"] < primary["ci_high"]
    # the secondary family is always three: G = 8 has not run, so it counts as p = 1 and the two present
    # ones are multiplied by 3 and 2 (Holm), never by 2 and 1
    abrupt, g2 = got[("gradual", "abrupt", 4, 32)], got[("gradual", "direct_matched", 2, 32)]
    assert abrupt["role"] == g2["role"] == "secondary"
    assert sorted([abrupt["p_holm"], g2["p_holm"]]) == pytest.approx([3 * 2 / 256, 3 * 2 / 256])
    # the same question at another budget, and the init confound, are exploratory and unadjusted
    short, init = got[("gradual", "direct_matched", 4, 6)], got[("direct", "direct_matched", 4, 32)]
    assert short["role"] == init["role"] == "exploratory" and short["p_holm"] is None
    assert init["verdict"] == "no effect larger than 0.0 mIoU" or init["verdict"].startswith("no effect larger than")


def test_a_verdict_says_inconclusive_with_both_ends_when_the_interval_spans_a_gain_and_a_loss():
    wins = [2.0, -1.5, 1.0, -2.0, 1.5, -0.5, 2.5, -1.0]
    (primary,) = [c for c in comparison_records(_study_runs(wins, secondary=False)) if c["role"] == "primary"]
    assert primary["p_value"] > 0.05
    assert primary["verdict"] == (f"inconclusive (the interval spans both a gain of {abs(primary['ci_high']):.1f} "
                                  f"and a loss of {abs(primary['ci_low']):.1f} mIoU)")


def test_ablation_arm_comes_from_what_was_trained():
    assert [ablation_arm(_run(a, 4, 0, 1.0)) for a in ("dense", "direct", "abrupt", "gradual", "cosine")] == \
        ["dense", "direct", "abrupt", "gradual", "cosine"]
    assert ablation_arm({"block": "dgc", "gradual": False, "arm": "direct_matched"}) == "direct_matched"
    assert ablation_arm({"block": "dgc", "gradual": True, "arm": None}) == "gradual"
    assert ablation_arm({"arm": "dense"}) is None
    assert ablation_arm({"block": "nonbt1d", "gradual": False, "arm": None}) is None  # ERFNet is no arm
    # Any sweep is summarised, not only table=ablation: a table3 run of a DG4* is the direct arm.
    text = summarise([_run("direct", 4, 0, 40.0) | {"table": "table3"}])
    assert "| direct | 4 | 12 | 1 |" in text


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
    assert text.startswith("made by a test\n\n| arm | G |") and "| exploratory | gradual − direct | 2 | 12 | 1 | +1.50 |" in text
    assert "| dense | 1 | 12 | 1 | 33.00 | - |" in text and "1 failed job(s): 3 seed None: unreadable metrics.json" in text
    assert text == "made by a test\n\n" + capsys.readouterr().out


def test_ablation_cli_json_gives_the_exact_p_of_six_positive_pairs(tmp_path, capsys):
    from gradgroup.cli.ablation import main

    _write(tmp_path, [_run(arm, 4, s, 40.0 + s + (0.3 + s / 10 if arm == "gradual" else 0))
                      for s in range(6) for arm in ("direct", "gradual")])
    assert main([str(tmp_path), "--json"]) == 0
    (got,) = json.loads(capsys.readouterr().out)
    assert (got["arm"], got["baseline"], got["groups"], got["epochs"], got["n"]) == ("gradual", "direct", 4, 12, 6)
    assert got["p_value"] == 0.03125 and got["p_holm"] is None and got["prob_improvement"] == 1.0
    assert got["role"] == "exploratory" and got["verdict"] == "better"
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


def test_ablation_cli_on_a_users_own_sweep_and_on_one_with_nothing_to_compare(tmp_path, capsys):
    """`gradgroup-train -m experiment=table3/dg4 grouping=none,gradual seed=0,...,5` leaves table3 records;
    they compare. A sweep of one arm says in one line why nothing compared, and exits 1."""
    from gradgroup.cli.ablation import main

    mine = tmp_path / "mine"
    mine.mkdir()
    _write(mine, [_run(arm, 4, s, 40.0 + s + (1.0 if arm == "gradual" else 0)) | {"table": "table3"}
                  for s in range(6) for arm in ("direct", "gradual")])
    assert main([str(mine), "--json"]) == 0
    (got,) = json.loads(capsys.readouterr().out)
    assert (got["arm"], got["baseline"], got["n"]) == ("gradual", "direct", 6)
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    _write(lonely, [_run("gradual", 4, s, 40.0) for s in range(3)] + [{"status": "ok", "block": "nonbt1d", "miou": 1.0}])
    assert main([str(lonely)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "nothing compared" in captured.err and "found gradual at G = 4, 12 epochs (3 seeds)" in captured.err
