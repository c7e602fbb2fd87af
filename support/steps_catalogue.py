"""The step catalogue, generated from the code: every step phrase, where it is defined, what it
checks (its docstring's first line), and the feature lines that use it.

- :func:`catalogue` — one :class:`Entry` per step definition, with its uses; steps no feature
  uses are flagged (``unused``).
- :func:`problems` — feature lines bound by no step, or by more than one (pytest-bdd would
  silently take one of them).
- :func:`definition_clashes` / :func:`ambiguous_steps` — the same, as collection checks it
  (support/plugin.py): one phrase defined twice, a feature step two definitions bind.
- :func:`find` — the definition(s) that bind a step text, as pytest-bdd would match it.
- :func:`suggest` — for a step text nothing binds: the three closest phrases and a ready stub.

``python -m support.steps`` prints it (see that module). Parsing goes through pytest-bdd's own
feature parser and step matchers, so what the catalogue says is what a run binds.
"""
from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from support.bdd import StepDefinition, step_definitions

ROOT = Path(__file__).resolve().parents[1]
STEPS_DIR = ROOT / "steps"
FEATURES_DIR = ROOT / "features"


@dataclass(frozen=True)
class Use:
    """One step line of a feature (an Outline's line once per Examples row, rendered)."""

    type: str      # given / when / then (And/But resolved to the step before)
    text: str
    file: str      # relative to the repository root
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Entry:
    """A step definition and the feature lines it binds."""

    definition: StepDefinition
    uses: list[Use] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.definition.module.replace('.', '/')}.py:{self.definition.line}"

    @property
    def unused(self) -> bool:
        return not self.uses


def step_modules(steps_dir: Path = STEPS_DIR) -> tuple[str, ...]:
    """The dotted names of the step modules (``steps.<name>``), as conftest.py loads them."""
    return tuple(f"{steps_dir.name}.{p.stem}" for p in sorted(steps_dir.glob("*.py")) if not p.stem.startswith("_"))


def definitions(steps_dir: Path = STEPS_DIR) -> list[StepDefinition]:
    """Every step definition of the step modules (imported here if they are not yet)."""
    modules = step_modules(steps_dir)
    for name in modules:
        importlib.import_module(name)
    return step_definitions(modules)


def feature_uses(features_dir: Path = FEATURES_DIR) -> Iterator[Use]:
    """Every step line of every feature under ``features_dir``, Outline rows rendered."""
    from pytest_bdd.feature import get_features

    for feature in get_features([str(features_dir)]):
        rel = str(Path(feature.filename).resolve().relative_to(ROOT)) if Path(feature.filename).resolve().is_relative_to(ROOT) \
            else feature.filename
        seen: set[tuple[int, str]] = set()
        for template in feature.scenarios.values():
            contexts = [c for ex in template.examples for c in ex.as_contexts()] or [{}]
            for context in contexts:
                for step in template.render(context).steps:
                    key = (step.line_number, step.name)
                    if key not in seen:
                        seen.add(key)
                        yield Use(step.type, step.name, rel, step.line_number)


def _binds(definition: StepDefinition, use: Use) -> bool:
    return definition.type in (use.type, "step") and definition.matches(use.text)


def catalogue(steps_dir: Path = STEPS_DIR, features_dir: Path = FEATURES_DIR) -> list[Entry]:
    """One entry per step definition (in module and line order) with the feature lines it binds."""
    entries = [Entry(d) for d in definitions(steps_dir)]
    for use in feature_uses(features_dir):
        for entry in entries:
            if _binds(entry.definition, use):
                entry.uses.append(use)
    return entries


_KEYWORDS = {"given": "given", "when": "when", "then": "then", "and": None, "but": None, "*": None}


def split_keyword(line: str) -> tuple[str | None, str]:
    """A step line as written in a feature -> (its type or None, its text without the keyword).

    ``'When I add the label "x" to the client'`` -> ``("when", 'I add the label "x" to the client')``;
    ``And``/``But``/``*`` give no type; a line without a keyword is returned as it is."""
    head, _, rest = line.strip().partition(" ")
    if rest and head.lower() in _KEYWORDS:
        return _KEYWORDS[head.lower()], rest.strip()
    return None, line.strip()


def find(text: str, type_: str | None = None, steps_dir: Path = STEPS_DIR) -> list[StepDefinition]:
    """The definitions that bind a step written ``text`` (of ``type_`` when given)."""
    return [d for d in definitions(steps_dir)
            if (type_ is None or d.type in (type_, "step")) and d.matches(text)]


def problems(steps_dir: Path = STEPS_DIR, features_dir: Path = FEATURES_DIR) -> list[str]:
    """One line per feature step bound by no definition, or by more than one."""
    defs = definitions(steps_dir)
    out = []
    for use in feature_uses(features_dir):
        bound = [d for d in defs if _binds(d, use)]
        if not bound:
            out.append(f"{use.where}: no step binds {use.type} {use.text!r}")
        elif len(bound) > 1:
            where = ", ".join(f"{d.module}:{d.line}" for d in bound)
            out.append(f"{use.where}: {len(bound)} steps bind {use.type} {use.text!r} ({where})")
    return out


# -- clashes, as collection checks them --------------------------------------------------------


def place(definition: StepDefinition, root: Path = ROOT) -> str:
    """Where a step is defined, ``<file relative to root>:<line>`` (``steps/common.py:42``)."""
    import inspect

    try:
        file = Path(inspect.getsourcefile(definition.func) or definition.module).resolve()
    except TypeError:
        return f"{definition.module}:{definition.line}"
    shown = file.relative_to(root.resolve()) if file.is_relative_to(root.resolve()) else file
    return f"{shown}:{definition.line}"


def _compete(a: StepDefinition, b: StepDefinition) -> bool:
    """Whether two definitions can be asked for one step: same type, or one untyped (``@step``).

    A Given and a Then of one phrase never compete: pytest-bdd gives And/But the type of the
    step before, so each line binds one of them, as it reads."""
    return a.type == b.type or "step" in (a.type, b.type)


def definition_clashes(defs: Iterable[StepDefinition], root: Path = ROOT) -> list[str]:
    """Two (or more) definitions of one phrase that compete (:func:`_compete`), one line each:
    ``2 step definitions of then '…' (steps/common.py:42, steps/mine.py:3): …``. pytest-bdd 9
    keeps the last one loaded in silence (the later plugin's fixture overrides the earlier)."""
    by_phrase: dict[str, list[StepDefinition]] = {}
    for d in defs:
        by_phrase.setdefault(d.phrase, []).append(d)
    out = []
    for phrase, group in sorted(by_phrase.items()):
        for type_ in sorted({d.type for d in group}):
            rivals = [d for d in group if _compete(d, StepDefinition(type_, phrase, "", d.func, None, None))]
            if len(rivals) > 1 and type_ == min(d.type for d in rivals):
                where = ", ".join(sorted(place(d, root) for d in rivals))
                out.append(f"{len(rivals)} step definitions of {type_} {phrase!r} ({where}): pytest-bdd would use one "
                           "and drop the other in silence; keep one (python -m support.steps --find shows it)")
    return out


def ambiguous_steps(steps: Iterable[tuple[str, str, str]], defs: Iterable[StepDefinition],
                    root: Path = ROOT) -> list[str]:
    """Feature steps that two definitions bind, one line each: ``steps`` are ``(type, text,
    where)`` (``where`` = ``features/x.feature:12``; each (type, text) is checked once, at its
    first place). Definitions of one phrase are :func:`definition_clashes`' and not repeated here."""
    by_type: dict[str, list[StepDefinition]] = {}
    for d in defs:
        by_type.setdefault(d.type, []).append(d)
    seen: set[tuple[str, str]] = set()
    out = []
    for type_, text, where in steps:
        if (type_, text) in seen:
            continue
        seen.add((type_, text))
        bound = [d for d in (*by_type.get(type_, ()), *by_type.get("step", ())) if d.matches(text)]
        if len({d.phrase for d in bound}) > 1:
            shown = ", ".join(sorted(place(d, root) for d in bound))
            out.append(f"{where}: {len(bound)} step definitions bind {type_} {text!r} ({shown}): pytest-bdd would "
                       "pick one in silence; make the phrases distinct")
    return out


# -- suggestions for an unbound step ---------------------------------------------------------

_FIELD = re.compile(r"\{[^{}]*\}")
_QUOTED = re.compile(r'"[^"]*"')
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")


def _plain(phrase: str) -> str:
    """A phrase as an analyst would read it: ``{field}`` and quoted values as ``"…"``."""
    return _FIELD.sub("…", phrase)


def _shape(text: str) -> str:
    return _NUMBER.sub("…", _QUOTED.sub('"…"', text))


def closest(text: str, n: int = 3, type_: str | None = None, steps_dir: Path = STEPS_DIR) -> list[StepDefinition]:
    """The ``n`` definitions whose phrases read most like ``text`` (values ignored)."""
    defs = [d for d in definitions(steps_dir) if type_ is None or d.type in (type_, "step")] or definitions(steps_dir)
    shape = _shape(text)

    def score(d: StepDefinition) -> float:
        return difflib.SequenceMatcher(None, shape, _shape(_plain(d.phrase))).ratio()

    return sorted(defs, key=score, reverse=True)[:n]


_VALUE = re.compile(r'"[^"]*"|(?<![\w.])\d+(?![\w.])')


def stub(text: str, type_: str = "then") -> str:
    """A ready step definition for ``text``: quoted values and numbers become parameters
    (``value``, ``value2`` …; ``n``, ``n2`` …), in the order they appear."""
    names: list[str] = []

    def field(m: re.Match[str]) -> str:
        quoted = m.group(0).startswith('"')
        base = "value" if quoted else "n"
        count = sum(1 for n in names if n.rstrip("0123456789") == base)
        names.append(base if count == 0 else f"{base}{count + 1}")
        return '"{' + names[-1] + '}"' if quoted else "{" + names[-1] + ":d}"

    phrase = _VALUE.sub(field, text)
    fixture = ', target_fixture="reply"' if type_ == "when" else ""
    args = ", ".join((["sut"] if type_ == "when" else ["reply", "oracle"]) + names)
    body = ("    return sut.call(\"<canonical tool>\", ...)" if type_ == "when" else
            "    assert ..., \"<what differs, in the field's words>\"")
    quote = "'" if '"' in phrase else '"'
    return (f"@{type_}(parsers.parse({quote}{phrase}{quote}){fixture})\n"
            f"def _({args}):\n"
            f"    \"\"\"<what it does or checks, in one line>\"\"\"\n{body}\n")


def suggest(step_text: str, step_type: str | None = None) -> str:
    """What to tell an analyst whose step nothing binds: the three closest existing phrases
    (with where they are defined) and a stub to paste into ``steps/<concern>.py``."""
    type_ = (step_type or "").lower() or None
    near = closest(step_text, 3, type_)
    lines = ["The closest existing steps:"]
    lines += [f"  {d.type.capitalize()} {_plain(d.phrase)}    ({d.module.replace('.', '/')}.py:{d.line})" for d in near]
    lines += ["Or define it (in steps/<concern>.py):", *("    " + line for line in stub(step_text, type_ or "then").splitlines())]
    return "\n".join(lines)


# -- text ----------------------------------------------------------------------------------------


def render(entries: Iterable[Entry], *, unused_only: bool = False) -> str:
    """The catalogue as text: one block per step (phrase, where, doc, uses)."""
    out: list[str] = []
    module = None
    for e in entries:
        if unused_only and not e.unused:
            continue
        if e.definition.module != module:
            module = e.definition.module
            out.append(f"\n== {module.replace('.', '/')}.py")
        flag = "  [UNUSED]" if e.unused else ""
        out.append(f"{e.definition.type.capitalize()} {e.definition.phrase}{flag}")
        out.append(f"    {e.where}  {e.definition.doc or '(no docstring)'}")
        uses = [f"{file}:{line}" for file, line in sorted({(u.file, u.line) for u in e.uses})]
        if uses:
            shown = ", ".join(uses[:6]) + (f" (+{len(uses) - 6} more)" if len(uses) > 6 else "")
            out.append(f"    used in {shown}")
    return "\n".join(out).lstrip("\n")
