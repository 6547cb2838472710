"""Durations for console lines: elapsed time and ETAs of jobs and sweeps."""
from __future__ import annotations


def duration(seconds: float) -> str:
    """`42s`, `3m05s`, `1h02m`: short enough for a line, exact enough for an ETA."""
    s = int(round(max(seconds, 0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
