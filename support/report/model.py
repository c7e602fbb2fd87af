"""What the report knows about a run: features as written, one record per scenario run
(scenario × server under test), and what is computed from them (summary, coverage matrix).

Every text that enters a record has already gone through :func:`clean`, so the renderer
and ``results.json`` never see key material.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from support.secrets import mask

from . import canonical

NO_SUT = "-"

#: Version of results.json's layout: 2 adds the features as written and each scenario run's
#: steps, message, tracebacks and transcript, so a report can be rebuilt (merged) from it.
RESULTS_FORMAT = 2

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StepDoc":
        """A step from its results.json form (unknown keys ignored, so newer files load)."""
        return cls(**_known(cls, data))


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
    path: str = ""                      # the file relative to the rootdir, for "path:line" pointers

    def to_dict(self) -> dict[str, Any]:
        """The feature in results.json (format 2)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureDoc":
        """A feature from :meth:`to_dict`'s form."""
        known = _known(cls, data)
        known["background"] = [StepDoc.from_dict(s) for s in data.get("background", [])]
        return cls(**known)


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
    traceback: str = ""                  # from the suite's own code (steps, support) down
    traceback_full: str = ""             # the whole one, pytest and pluggy included
    duration: float = 0.0
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def result_row(self, feature: FeatureDoc | None) -> dict[str, Any]:
        """The machine-readable line of results.json.

        The first keys (nodeid … steps' keyword, text, outcome, duration) are format 1's;
        the rest make the record whole again (:meth:`from_row`).
        """
        return {
            "nodeid": self.nodeid, "feature": feature.name if feature else self.feature, "scenario": self.scenario,
            "sut": self.sut, "tools": self.tools, "tags": self.tags, "outcome": self.outcome,
            "reason": self.reason, "duration": round(self.duration, 4),
            "steps": [{"keyword": s.keyword, "text": s.text, "outcome": s.outcome,
                       "duration": None if s.duration is None else round(s.duration, 4),
                       "background": s.background, "docstring": s.docstring, "datatable": s.datatable,
                       "message": s.message}
                      for s in self.steps],
            "feature_key": self.feature, "file": feature.path if feature else "", "line": self.line,
            "keyword": self.keyword, "order": self.order, "description": self.description,
            "message": self.message, "traceback": self.traceback, "traceback_full": self.traceback_full,
            "transcript": self.transcript,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ScenarioRun":
        """The record behind a results.json row written by :meth:`result_row` (format 2).

        Raises ValueError for a format 1 row, which lacks the features as written.
        """
        if "feature_key" not in row:
            raise ValueError(f"{row.get('nodeid', '?')}: a results.json of format 1 cannot rebuild a report")
        known = _known(cls, {**row, "feature": row["feature_key"]})
        known["steps"] = [StepDoc.from_dict(s) for s in row.get("steps", [])]
        return cls(**known)

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies a scenario run across runs: (feature key, scenario title, SUT)."""
        return (self.feature, self.scenario, self.sut)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


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
    #: What changed since a previous run (a :class:`support.report.compare.Changes`), or None.
    changes: Any = None
    #: Why the run stopped early (e.g. "the embedded lab did not start: …", or an interrupt;
    #: masked), or "" for a run that ran to its end. Shown at the top of the report.
    stopped: str = ""
    #: The pages computed from the code (a :class:`support.report.pages.Pages`): step catalogue,
    #: argument coverage, hygiene. None: :func:`support.report.render.render_html` computes them.
    pages: Any = None

    def __post_init__(self) -> None:
        """Features in file order, runs in layout order: the page does not depend on the order
        scenarios ran in (random order, xdist workers, CI shards)."""
        self.features = dict(sorted(self.features.items()))
        suts = self.suts
        self.runs = sorted(self.runs, key=lambda r: (r.feature, r.line, r.order,
                                                      suts.index(r.sut) if r.sut in suts else len(suts)))

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
            "format": RESULTS_FORMAT,
            "title": self.title,
            "generated": self.generated,
            "command": self.command,
            "stopped": self.stopped,
            "summary": self.summary(),
            "suts": self.suts,
            "scenarios": [r.result_row(self.features.get(r.feature)) for r in self.runs],
            "matrix": {key: {sut: cell["outcome"] for sut, cell in row.items()} for key, row in matrix.items()},
            "features": {key: f.to_dict() for key, f in self.features.items()},
        }

    @classmethod
    def from_results(cls, data: dict[str, Any]) -> "Run":
        """The run behind a results.json (format 2); ValueError for an older or foreign file."""
        if data.get("format", 1) < 2 or "features" not in data:
            raise ValueError("results.json of format 1 (before the report kept features as written): "
                             "it can be compared with, not rebuilt; re-run the spec to get format 2")
        return cls(
            features={k: FeatureDoc.from_dict(v) for k, v in data["features"].items()},
            runs=[ScenarioRun.from_row(row) for row in data.get("scenarios", [])],
            title=data.get("title", cls.title), generated=data.get("generated", ""),
            command=data.get("command", ""), stopped=data.get("stopped", ""),
        )

    @property
    def ran_scenarios(self) -> bool:
        """True when at least one scenario run has an outcome (not all "not run")."""
        return any(r.outcome != "not run" for r in self.runs)

    def not_covered(self, sut: str) -> int:
        """How many canonical matrix rows no scenario run covered for ``sut``."""
        covered = {t for r in self.runs if r.sut == sut for t in r.tools}
        return len([k for k in canonical.matrix_rows() if k not in covered])


def anchor(*parts: str) -> str:
    """A stable HTML id for a feature or scenario."""
    text = "-".join(parts).lower()
    return "s-" + re.sub(r"[^a-z0-9]+", "-", text).strip("-")
