"""The search's answer to "does a searched placement dominate a paper row?" (results/search_report.py):
dominance by the means, every searched row beside each paper row with its paired difference and
Student-t interval, and what three seeds can and cannot say."""
from __future__ import annotations

import re

import pytest

from gradgroup.results.search_report import dominates, front_table, verdict_text, verdicts
from gradgroup.results.stats import describe


def _row(label, source, per_seed, ms):
    return {"label": label, "source": source, "per_seed": per_seed, "latency_ms": ms, "words": label,
            "params": 1, "gmacs": 1.0, "speedup": 1.0, "roofline_fraction": 0.5, "front": False,
            **describe(list(per_seed.values()))}


ROWS = [_row("DG4*-proposed", "paper", {1: 20.0, 2: 21.0, 3: 22.5}, 40.0),
        _row("D*-proposed", "paper", {1: 24.0, 2: 25.0, 3: 25.5}, 25.0),
        _row("DG2S|DG4S|DG4+light+gg", "search", {1: 21.0, 2: 21.5, 3: 24.0}, 30.0),  # faster, better than DG4*-p.
        _row("N|DG4S|DG4+light+gg", "search", {1: 26.0, 2: 26.5, 3: 25.0}, 45.0)]    # better, slower


def test_dominance_is_by_the_means_at_no_more_latency():
    fast, slow = ROWS[2], ROWS[3]
    assert dominates(fast, ROWS[0]) and not dominates(slow, ROWS[0])
    assert not dominates(fast, ROWS[1])  # faster but lower mIoU than D*-proposed
    assert not dominates(ROWS[0], ROWS[0])  # equal on both: not strictly better on either


def test_each_paper_row_lists_every_searched_row_with_its_paired_t_interval():
    v = {x["paper"]["label"]: x for x in verdicts(ROWS)}
    assert [w["label"] for w in v["DG4*-proposed"]["dominated_by"]] == ["DG2S|DG4S|DG4+light+gg"]
    assert v["D*-proposed"]["dominated_by"] == []
    fast = next(c for c in v["DG4*-proposed"]["compared"] if c["label"].startswith("DG2S"))
    d = fast["diff"]                                      # differences +1.0, +0.5, +1.5
    assert d["n"] == 3 and d["mean_diff"] == pytest.approx(1.0)
    t = describe([1.0, 0.5, 1.5])                         # the t interval of the differences, not the bootstrap
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((t["ci_low"], t["ci_high"]))
    assert d["ci_low"] < 0 < d["ci_high"] and d["p_value"] == pytest.approx(0.25)
    assert fast["latency_ratio"] == pytest.approx(0.75)


def test_the_text_names_the_winner_escapes_labels_and_says_what_three_seeds_allow():
    text = verdict_text(verdicts(ROWS))
    assert "**DG4*-proposed**" in text and "dominated (by the means) by DG2S|DG4S|DG4+light+gg." in text
    assert "**D*-proposed**" in text and "no searched placement dominates it" in text
    assert "  | DG2S\\|DG4S\\|DG4+light+gg | 30.0 (0.75x) | +1.00 [" in text
    assert "With 3 paired seeds the smallest sign-flip p is 0.25" in text and "at least 6 confirmation seeds" in text
    table = front_table(ROWS, "onnxruntime", "1024x512")
    # nine cells, ten unescaped pipes: the '|' inside the search's labels is escaped
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 10 for line in table.splitlines()[2:])
