"""How one results row reads: numbers checked, labels, "mean ± std", "[low, high]", the GMACs column header.

The lowest layer of `gradgroup.results`: the table, the Pareto plot (the paper's Figure 4) and the
notebook all name rows and format numbers the same way through these helpers, and import nothing else
from the package. A row is a plain dict with the columns of `gradgroup.results.table.FIELDS`.
"""
from __future__ import annotations

import math
import time

from ..common.records import Status


def num(x) -> float | None:
    """A finite float, or None for anything else (null, "", strings, NaN): metrics.json is never trusted."""
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def first_line(msg) -> str:
    """The first non-empty line of an error message (a traceback's headline), or "unknown error"."""
    lines = str(msg or "").strip().splitlines()
    return lines[0] if lines else "unknown error"


def ago(timestamp, now: float | None = None) -> str:
    """A Unix time as its age: "40 s ago", "12 min ago", "3.5 h ago", "2.0 days ago"; "never" for none."""
    t = num(timestamp)
    if t is None:
        return "never"
    s = max((time.time() if now is None else now) - t, 0.0)
    if s < 60:
        return f"{s:.0f} s ago"
    if s < 3600:
        return f"{s / 60:.0f} min ago"
    return f"{s / 3600:.1f} h ago" if s < 86400 else f"{s / 86400:.1f} days ago"


def display_label(row: dict) -> str:
    """The paper's model name, with the arm in brackets when there is one: "DG4* [gradual]"."""
    return row["label"] + (f" [{row['arm']}]" if row.get("arm") else "")


def md_row(cells) -> str:
    """One Markdown table row; a `|` inside a cell (the search's labels, DG4S|D|DG2) is escaped."""
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def pm(mean, std, sep: str = "±", digits: int = 2) -> str:
    """ "mean ± std", or just the mean when there is no spread (a single seed)."""
    s = num(std)
    return f"{mean:.{digits}f}" + (f" {sep} {s:.{digits}f}" if s is not None else "")


def ci_cell(low, high, signed: bool = False, missing: str = "", digits: int = 2) -> str:
    """An interval as "[low, high]" (signs shown for differences), `missing` when there is none (n < 2)."""
    if num(low) is None or num(high) is None:
        return missing
    spec = ("+" if signed else "") + f".{digits}f"
    return f"[{num(low):{spec}}, {num(high):{spec}}]"


def gmacs_header(rows: list[dict]) -> str:
    """Name the counting convention and resolution once when all rows share them (they should)."""
    conv = {(r.get("input_hw"), r.get("gmacs_convention")) for r in rows if r.get("status") == Status.OK}
    if len(conv) == 1:
        hw, c = conv.pop()
        return f"GMACs @ {hw or '?'} ({c or 'convention ?'})"
    return "GMACs (mixed resolution/convention: see results.csv)"
