"""The gradual grouping study's pre-registered analysis (docs/gradual_study_plan.md), as data and rules.

The plan was committed before any of its runs (git log docs/gradual_study_plan.md); this module is the one
place its choices live, and the report (`gradgroup.results.study_doc`, `gradgroup-ablation --json`) only
applies them:

- **Primary** (`PRIMARY`): test mIoU of gradual − direct_matched at G = 4 at the study's full budget,
  two-sided exact sign-flip test at `ALPHA`, no adjustment, with the interval that inverts the same test
  (`stats.sign_flip_interval`).
- **Secondary** (`SECONDARY`, in this order): Holm's adjustment over these three alone, always as a family
  of three (a comparison not run yet counts as p = 1, so adding runs can never make the others easier).
- **Exploratory**: every other comparison, unadjusted, labelled as such.

"The full budget" is the largest epoch count among the compared cells (32 at the quick preset).

Wording (`verdict_word`): "better" / "worse" when the deciding p (the primary's own, the secondary's
Holm p, an exploratory one's own) is below `ALPHA`; otherwise "no effect larger than X" when the whole
interval lies within +-`SESOI`, X being its farthest end from 0, else "inconclusive (the interval spans
both a gain of X and a loss of Y)". Never "no detectable effect".
"""
from __future__ import annotations

from typing import NamedTuple

from .stats import holm

ALPHA = 0.05
PLANNED_SEEDS = 16  # seeds 0-15 per arm (sweeps/study_*.yaml); the verdict is read once all pairs exist
SESOI = 0.5  # mIoU points: the smallest effect of interest; a difference below it is not worth an extra arm
PRIMARY_ROLE, SECONDARY_ROLE, EXPLORATORY_ROLE = "primary", "secondary", "exploratory"


class Question(NamedTuple):
    arm: str
    baseline: str
    groups: int

    def text(self) -> str:
        return f"{self.arm} − {self.baseline} at G = {self.groups}"


PRIMARY = Question("gradual", "direct_matched", 4)
SECONDARY = (Question("gradual", "abrupt", 4), Question("gradual", "direct_matched", 2),
             Question("gradual", "direct_matched", 8))


def _question(c: dict) -> Question:
    return Question(c["arm"], c["baseline"], c["groups"])


def assign_roles(comps: list[dict]) -> list[dict]:
    """Add ``role``, ``p_holm`` (secondary only) and ``p_decide`` (the p its verdict uses) to each comparison."""
    full = max((c["epochs"] for c in comps if c.get("epochs") is not None), default=None)
    secondary = {}
    for c in comps:
        at_full = c.get("epochs") == full
        q = _question(c)
        c["role"] = (PRIMARY_ROLE if at_full and q == PRIMARY else
                     SECONDARY_ROLE if at_full and q in SECONDARY else EXPLORATORY_ROLE)
        c["p_holm"] = None
        if c["role"] == SECONDARY_ROLE and c.get("p_value") is not None:
            secondary[q] = c
    ps = [secondary[q]["p_value"] if q in secondary else 1.0 for q in SECONDARY]
    for q, p in zip(SECONDARY, holm(ps)):
        if q in secondary:
            secondary[q]["p_holm"] = p
    for c in comps:
        c["p_decide"] = c["p_holm"] if c["role"] == SECONDARY_ROLE else c.get("p_value")
    return comps


def _mag(v: float) -> str:
    return f"{abs(v):.1f}"


def verdict_word(c: dict) -> str:
    """"better", "worse", "no effect larger than X" or "inconclusive (...)": see the module doc."""
    p, low, high, mean = c.get("p_decide"), c.get("ci_low"), c.get("ci_high"), c.get("mean_diff")
    if p is not None and p < ALPHA and mean is not None and mean != 0:
        return "better" if mean > 0 else "worse"
    if low is None or high is None:
        return "inconclusive (too few paired seeds for any interval)"
    if -SESOI <= low and high <= SESOI:
        return f"no effect larger than {_mag(max(abs(low), abs(high)))} mIoU"
    if low >= 0 or high <= 0:  # not significant after adjustment, yet the interval sits on one side
        return (f"inconclusive (the unadjusted interval [{low:+.1f}, {high:+.1f}] excludes 0, "
                f"the {'Holm-adjusted ' if c.get('role') == SECONDARY_ROLE else ''}p does not reach {ALPHA})")
    return f"inconclusive (the interval spans both a gain of {_mag(high)} and a loss of {_mag(low)} mIoU)"
