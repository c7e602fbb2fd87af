"""What changed since a previous run: two results.json compared, per server under test.

A scenario run is the same across runs when its feature's title, its scenario's title and
its SUT are (node ids change when files move). Both files may be of any format (1 or 2):
only ``scenarios[*].{feature, scenario, sut, outcome, reason}`` and ``matrix`` are read, and
``file``/``line`` when present.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FAILING = ("failed", "error")

#: Category → (heading, what it means), in the order the report and the terminal show them.
CATEGORIES = {
    "newly_failing": ("Newly failing", "failed or errored now, did not before"),
    "newly_passing": ("Newly passing", "passed now, failed or errored before"),
    "xfail_passes": ("Expected failures that now pass",
                     "a known defect no longer shows: fixed upstream? then drop its xfail"),
}


@dataclass
class Change:
    """One scenario run whose outcome changed."""

    sut: str
    feature: str
    scenario: str
    before: str
    after: str
    reason: str = ""                # the current one-line reason (failure message, xfail reason)
    where: str = ""                 # "path:line" of the scenario when known
    feature_key: str = ""           # the feature's key in the current report (for a link)

    def line(self) -> str:
        """``path:line  Scenario [SUT]: before → after; reason`` for the terminal."""
        where = f"{self.where}  " if self.where else ""
        tail = f": {self.reason}" if self.reason else ""
        return f"{where}{self.scenario} [{self.sut}] ({self.before} → {self.after}){tail}"


@dataclass
class CellChange:
    """A coverage-matrix cell whose outcome changed."""

    sut: str
    row: str
    before: str
    after: str


@dataclass
class Changes:
    """Everything that changed, each list in report order (SUT, then feature, then scenario)."""

    previous: str                                    # what was compared with: path and its date
    newly_failing: list[Change] = field(default_factory=list)
    newly_passing: list[Change] = field(default_factory=list)
    xfail_passes: list[Change] = field(default_factory=list)
    other: list[Change] = field(default_factory=list)   # e.g. skipped → passed, passed → xfailed
    cells: list[CellChange] = field(default_factory=list)
    added: int = 0                                   # scenario runs only in the current run
    removed: int = 0                                 # scenario runs only in the previous one

    @property
    def empty(self) -> bool:
        return not (self.newly_failing or self.newly_passing or self.xfail_passes or self.other
                    or self.cells or self.added or self.removed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def terminal_lines(self) -> list[str]:
        """The lines the terminal shows after the run."""
        out = []
        for name, (heading, _) in CATEGORIES.items():
            for change in getattr(self, name):
                out.append(f"{heading.lower()}: {change.line()}")
        for change in self.other:
            out.append(f"changed: {change.line()}")
        for cell in self.cells:
            out.append(f"matrix [{cell.sut}] {cell.row}: {cell.before} → {cell.after}")
        if self.added or self.removed:
            out.append(f"scenario runs: {self.added} new, {self.removed} gone")
        return out or ["nothing changed"]


def _rows(results: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r.get("feature", ""), r.get("scenario", ""), r.get("sut", "-")): r
            for r in results.get("scenarios", [])}


def _where(row: dict[str, Any]) -> str:
    return f"{row['file']}:{row['line']}" if row.get("file") and row.get("line") else ""


def compare(previous: dict[str, Any], current: dict[str, Any], label: str = "the previous run") -> Changes:
    """The changes from ``previous`` to ``current`` (results.json contents)."""
    changes = Changes(previous=label)
    before, after = _rows(previous), _rows(current)
    order = sorted(set(before) & set(after), key=lambda k: (k[2], k[0], k[1]))
    for key in order:
        old, new = before[key]["outcome"], after[key]["outcome"]
        if old == new:
            continue
        change = Change(sut=key[2], feature=key[0], scenario=key[1], before=old, after=new,
                        reason=(after[key].get("reason") or "").strip().split("\n")[0], where=_where(after[key]),
                        feature_key=after[key].get("feature_key", ""))
        if new in FAILING and old not in FAILING:
            changes.newly_failing.append(change)
        elif old == "xfailed" and new in ("xpassed", "passed"):
            changes.xfail_passes.append(change)
        elif new == "passed" and old in FAILING:
            changes.newly_passing.append(change)
        else:
            changes.other.append(change)
    changes.added = len(set(after) - set(before))
    changes.removed = len(set(before) - set(after))
    old_matrix, new_matrix = previous.get("matrix", {}), current.get("matrix", {})
    suts = list(dict.fromkeys([*current.get("suts", []), *previous.get("suts", [])]))
    for sut in suts:
        for row, cells in new_matrix.items():
            old_cell = old_matrix.get(row, {}).get(sut)
            new_cell = cells.get(sut)
            if old_cell is not None and new_cell is not None and old_cell != new_cell:
                changes.cells.append(CellChange(sut=sut, row=row, before=old_cell, after=new_cell))
    return changes


def compare_files(previous: Path, current: dict[str, Any]) -> Changes:
    """:func:`compare` with a results.json on disk; OSError / ValueError when it cannot be read."""
    data = json.loads(Path(previous).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise ValueError(f"{previous} is not a results.json (no 'scenarios' list)")
    when = data.get("generated") or "date unknown"
    return compare(data, current, label=f"{previous} ({when})")
