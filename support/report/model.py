"""What the report knows about a run: features as written, one record per scenario run
(scenario × server under test), and what is computed from them (summary, coverage matrix).

Every text that enters a record has already gone through :func:`clean`, so the renderer
and ``results.json`` never see key material.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from support.secrets import mask

from . import canonical

NO_SUT = "-"

#: Outcomes from worst to best; a matrix cell shows the worst outcome of its scenarios.
OUTCOMES = ("failed", "error", "xpassed", "xfailed", "skipped", "not run", "passed")

# A PEM header whose end was cut off (a truncated message) is masked to the end of the text.
_DANGLING_PEM = re.compile(r"-----BEGIN [A-Z ]*(?:PRIVATE KEY|CERTIFICATE)-----.*", re.S)


def clean(text: Any) -> str:
    """Text fit for the report: secrets masked, never None."""
    if text is None:
        return ""
    return _DANGLING_PEM.sub("[MASKED PEM]", mask(str(text)))


def clean_obj(obj: Any) -> Any:
    """A JSON-like structure with every string masked (dangling PEM headers too)."""
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, dict):
        return {clean(k): clean_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_obj(v) for v in obj]
    return obj


@dataclass
class StepDoc:
    """A step as written, and how it went in one run."""

    keyword: str
    text: str
    background: bool = False
    docstring: str | None = None
    datatable: list[list[str]] | None = None
    outcome: str = "not run"          # passed / failed / undefined / not run
    duration: float | None = None
    message: str = ""


@dataclass
class FeatureDoc:
    """A feature as written in its file."""

    key: str                            # relative file name, unique per feature
    keyword: str
    name: str
    description: str
    tags: list[str]
    background: list[StepDoc]
    line: int


@dataclass
class ScenarioRun:
    """One scenario run against one server under test."""

    nodeid: str
    feature: str                         # FeatureDoc.key
    scenario: str                        # title (with the example for outlines)
    keyword: str
    line: int
    order: int                           # collection order, for a stable layout
    sut: str = NO_SUT
    tags: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    description: str = ""
    steps: list[StepDoc] = field(default_factory=list)
    outcome: str = "not run"
    reason: str = ""                     # skip / xfail reason, or the failure's one-line message
    message: str = ""                    # the failing step's message (or the error's)
    traceback: str = ""
    duration: float = 0.0
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def result_row(self, feature_name: str) -> dict[str, Any]:
        """The machine-readable line of results.json."""
        return {
            "nodeid": self.nodeid, "feature": feature_name, "scenario": self.scenario,
            "sut": self.sut, "tools": self.tools, "tags": self.tags, "outcome": self.outcome,
            "reason": self.reason, "duration": round(self.duration, 4),
            "steps": [{"keyword": s.keyword, "text": s.text, "outcome": s.outcome,
                       "duration": None if s.duration is None else round(s.duration, 4)}
                      for s in self.steps],
        }


def worst(outcomes: list[str]) -> str:
    """The outcome a group shows: the worst of its members."""
    return min(outcomes, key=OUTCOMES.index) if outcomes else "not covered"


@dataclass
class Run:
    """Everything one report shows."""

    features: dict[str, FeatureDoc]
    runs: list[ScenarioRun]
    title: str = "Raptorspec living documentation"
    generated: str = ""
    command: str = ""

    @property
    def suts(self) -> list[str]:
        seen = sorted({r.sut for r in self.runs if r.sut != NO_SUT})
        return seen + ([NO_SUT] if any(r.sut == NO_SUT for r in self.runs) or not seen else [])

    def summary(self) -> dict[str, int]:
        counts = {o: 0 for o in OUTCOMES}
        for r in self.runs:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        counts["total"] = len(self.runs)
        counts["features"] = len(self.features)
        counts["scenarios"] = len({(r.feature, r.scenario) for r in self.runs})
        covered = {t for r in self.runs for t in r.tools}
        counts["canonical_covered"] = len([k for k in canonical.matrix_rows() if k in covered])
        counts["canonical_total"] = len(canonical.matrix_rows())
        return counts

    def matrix_groups(self) -> list[tuple[str, list[str]]]:
        """Canonical groups, plus tagged tools the contract does not know (likely typos)."""
        groups = canonical.matrix_groups()
        known = set(canonical.matrix_rows())
        extra = sorted({t for r in self.runs for t in r.tools} - known)
        if extra:
            groups.append(("Not in the contract", extra))
        return groups

    def matrix(self) -> dict[str, dict[str, dict[str, Any]]]:
        """row key → SUT → {outcome, counts, anchor}; "not covered" where no scenario ran."""
        cells: dict[str, dict[str, list[ScenarioRun]]] = {}
        for r in self.runs:
            for tool in r.tools:
                cells.setdefault(tool, {}).setdefault(r.sut, []).append(r)
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for _, keys in self.matrix_groups():
            for key in keys:
                row = out[key] = {}
                for sut in self.suts:
                    runs = cells.get(key, {}).get(sut, [])
                    counts: dict[str, int] = {}
                    for r in runs:
                        counts[r.outcome] = counts.get(r.outcome, 0) + 1
                    row[sut] = {
                        "outcome": worst([r.outcome for r in runs]),
                        "counts": {o: counts[o] for o in OUTCOMES if o in counts},
                        "anchor": anchor(runs[0].feature, runs[0].scenario) if runs else "",
                    }
        return out

    def results(self) -> dict[str, Any]:
        """results.json: per scenario run, plus the summary and the matrix."""
        matrix = self.matrix()
        return {
            "title": self.title,
            "generated": self.generated,
            "summary": self.summary(),
            "suts": self.suts,
            "scenarios": [r.result_row(self.features[r.feature].name if r.feature in self.features else r.feature)
                          for r in self.runs],
            "matrix": {key: {sut: cell["outcome"] for sut, cell in row.items()} for key, row in matrix.items()},
        }


def anchor(*parts: str) -> str:
    """A stable HTML id for a feature or scenario."""
    text = "-".join(parts).lower()
    return "s-" + re.sub(r"[^a-z0-9]+", "-", text).strip("-")
