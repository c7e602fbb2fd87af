"""Checks of the feature files that pytest-bdd would otherwise let through in silence.

pytest-bdd 9 parses each ``.feature`` with the official Gherkin parser and then keeps its
scenarios in a dict keyed by title, folds lines above the first ``Scenario:`` into the
feature's description, and reads files as plain UTF-8. So, without these checks:

* two scenarios with one title in a feature → only the last one runs;
* a step written under ``Feature:`` (or ``Rule:``) above the first scenario → it is prose, the
  scenario passes without it;
* a scenario with no steps → it passes having checked nothing;
* a UTF-8 byte-order mark → a parse error quoting a line that looks right;
* a Scenario Outline with no example row → it runs once with the literal ``<placeholder>``;
* an empty (or comment-only) file → ``KeyError: 'feature'`` naming no file, for the whole spec.

:func:`problems_in` finds these (and names the invisible character behind a parse error);
``features/test_spec.py`` fails collection with its list before binding, and reads files as
``utf-8-sig`` so that a BOM is accepted. CRLF line endings are accepted as they are (Python's
universal newlines, then the Gherkin parser).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from gherkin.dialect import Dialect
from gherkin.errors import CompositeParserException, ParserError
from gherkin.parser import Parser

__all__ = ["problems_in", "problems_of", "spec_problems", "title_problems", "checked_features", "Problem", "invisible_characters", "read_feature", "preload_features", "tag_lines"]

_BOM = "\ufeff"
_VISIBLE_SPACE = {" ", "\t"}


def invisible_characters(text: str) -> list[str]:
    """Names of the characters in ``text`` an editor does not show: ``["U+FEFF ZERO WIDTH
    NO-BREAK SPACE at column 1", …]`` (format and other-control characters, spaces other than
    space and tab, line/paragraph separators). Columns are 1-based."""
    found = []
    for col, ch in enumerate(text, start=1):
        cat = unicodedata.category(ch)
        if ch in _VISIBLE_SPACE or ch in "\r\n":
            continue
        if cat in {"Cf", "Cc", "Zs", "Zl", "Zp", "Co", "Cn"}:
            found.append(f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')} at column {col}")
    return found


def read_feature(path: Path) -> str:
    """The text of a feature file: UTF-8, a leading BOM dropped, CRLF/CR read as LF.

    Raises ``UnicodeDecodeError`` for bytes that are not UTF-8 (caught by :func:`problems_of`).
    """
    text = path.read_bytes().decode("utf-8")
    if text.startswith(_BOM):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def preload_features(features: Path | str | Iterable[Path | str]) -> None:
    """Parse every ``*.feature`` below a folder (or each file of a list) into pytest-bdd's
    feature cache as ``utf-8-sig`` (a leading BOM accepted). Needed because pytest-bdd 9's
    ``scenarios()`` does not pass its ``encoding`` to the parser (pytest_bdd/scenario.py,
    ``get_features``); it then finds each file already parsed. Raises what pytest-bdd raises
    for a bad file."""
    from pytest_bdd.feature import get_feature

    if isinstance(features, (str, Path)):
        features = Path(features).resolve().rglob("*.feature")
    for path in sorted(Path(p).resolve() for p in features):
        get_feature(str(path.parent), path.name, encoding="utf-8-sig")


def tag_lines(path: Path | str) -> dict[str, list[int]]:
    """Where each tag is written in a feature file: ``{"@slow": [1, 14], …}`` (1-based lines,
    from the official Gherkin parser's tag locations, on the feature, its Rules, scenarios and
    Examples). ``{}`` for a file that does not read or parse (:func:`problems_of` reports it).
    pytest-bdd hands its tag hook a tag's text only, so collection looks its line up here."""
    try:
        doc = Parser().parse(read_feature(Path(path)))
    except (OSError, UnicodeDecodeError, CompositeParserException, ParserError):
        return {}
    found: dict[str, list[int]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for tag in node.get("tags") or ():
                if isinstance(tag, dict) and "name" in tag:
                    found.setdefault(tag["name"], []).append(tag["location"]["line"])
            for value in node.values():
                if isinstance(value, (dict, list)):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc.get("feature") or {})
    return {name: sorted(set(lines)) for name, lines in found.items()}


@dataclass(frozen=True)
class Problem:
    """One problem of the spec: the feature files it concerns (one, or the files sharing a
    title) and its text, ``<path>:<line>: <what>``."""

    files: tuple[Path, ...]
    text: str


def problems_in(folder: Path | str) -> list[str]:
    """Every problem of every ``*.feature`` below ``folder`` (sorted by file), as lines
    ``<path>:<line>: <what>``; empty when all is well. Includes :func:`title_problems`."""
    return [p.text for p in spec_problems(folder)]


def spec_problems(folder: Path | str | None = None, files: Iterable[Path | str] | None = None) -> list[Problem]:
    """The problems of every ``*.feature`` below ``folder`` and of ``files``: each file's own
    (:func:`problems_of`, sorted by file) then one title used in two files
    (:func:`title_problems`)."""
    paths = sorted({Path(p) for p in (files or ())} | set(Path(folder).rglob("*.feature") if folder else ()))
    found = [Problem((path,), text) for path in paths for text in problems_of(path)]
    return found + title_problems(paths)


def _titles(path: Path) -> list[tuple[str, int]]:
    """(title, line) of every scenario of a feature file (inside Rules too); [] when it does not parse."""
    try:
        doc = Parser().parse(read_feature(path))
    except (UnicodeDecodeError, CompositeParserException, ParserError):
        return []
    feature = doc.get("feature") or {}
    out = []
    for child in feature.get("children", []):
        for c in [child, *child.get("rule", {}).get("children", [])]:
            if "scenario" in c:
                out.append((c["scenario"]["name"].strip(), c["scenario"]["location"]["line"]))
    return out


def title_problems(paths: Iterable[Path]) -> list[Problem]:
    """One scenario title in two (or more) feature files, as a :class:`Problem` of all of them.

    A title names one scenario everywhere: the report, a SUT profile's known defect
    ``tool::<title>``, ``pytest x.feature::<title>``. Two files sharing one let a known defect
    (a strict xfail) land on an unrelated scenario of the same tool. (Two scenarios with one
    title in one file are :func:`problems_of`'s.)"""
    where: dict[str, list[tuple[Path, int]]] = {}
    for path in sorted(paths):
        for title, line in dict(reversed(_titles(path))).items():  # first line per file
            where.setdefault(title, []).append((path, line))
    problems = []
    for title, at in sorted(where.items(), key=lambda kv: kv[1][0]):
        if len(at) > 1:
            (first, line), others = at[0], at[1:]
            problems.append(Problem(tuple(p for p, _ in at), (
                f"{first}:{line}: scenario title {title!r} is also the title of "
                f"{', '.join(f'{p}:{n}' for p, n in others)}: a title names one scenario in the whole spec "
                "(the report, known defects tool::<title>, x.feature::<title>); give each its own")))
    return problems


def checked_features(folder: Path | str) -> list[Path]:
    """The feature files below ``folder`` for ``features/test_spec.py`` to bind, once checked.

    Call it while pytest collects (it reads the run's config from pytest-bdd, and the features
    the run is narrowed to from :func:`support.plugin.feature_scope`). A problem of a feature
    the run includes fails collection (``pytest.fail``) with every such problem, one line each;
    problems only of other files are named in one :class:`~support.errors.FeatureProblemsElsewhere`
    warning, and those files are not bound (pytest-bdd could not parse some of them). Returns
    the files to bind, sorted."""
    import warnings

    import pytest

    from support.bdd import current_config
    from support.errors import FeatureProblemsElsewhere

    config = current_config()
    scope = None
    if config is not None:
        from support.plugin import feature_scope

        scope = feature_scope(config)
    folder = Path(folder).resolve()
    files = sorted(folder.rglob("*.feature"))
    problems = spec_problems(folder)

    def in_scope(path: Path) -> bool:
        return scope is None or any(path == s or s in path.parents for s in scope)

    ours = [p.text for p in problems if any(in_scope(f) for f in p.files)]
    if ours:
        pytest.fail("the features hold what pytest-bdd would lose:\n" + "\n".join(ours), pytrace=False)
    broken = sorted({f for p in problems for f in p.files})
    if broken:
        root = config.rootpath.resolve() if config is not None else folder.parent

        def shown(path: Path) -> str:
            return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

        warnings.warn(FeatureProblemsElsewhere(
            f"{len(broken)} feature file{'s' if len(broken) > 1 else ''} outside this run "
            f"{'have' if len(broken) > 1 else 'has'} problems (the full run fails on them): "
            f"{', '.join(map(shown, broken))}; `python -m support.gherkin lint` lists them"), stacklevel=2)
    return [f for f in files if f not in broken]


def problems_of(path: Path) -> list[str]:
    """The problems of one feature file (see the module doc), as ``<path>:<line>: <what>``."""
    try:
        text = read_feature(path)
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        return [f"{path}:{line}: not UTF-8 ({exc.reason} at byte {exc.start}): save the file as UTF-8"]
    lines = text.split("\n")
    if not [line for line in lines if line.strip() and not line.strip().startswith(("#", "@"))]:
        return [f"{path}:1: no Feature: line (the file is empty, or only comments and tags): pytest-bdd "
                "cannot bind it and fails the whole spec; write its Feature: or delete the file"]
    try:
        doc = Parser().parse(text)
    except CompositeParserException as exc:
        return [_parse_problem(path, lines, err) for err in exc.errors]
    except ParserError as exc:
        return [_parse_problem(path, lines, exc)]
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        hidden = invisible_characters(line)
        if hidden:
            problems.append(f"{path}:{number}: invisible characters: {', '.join(hidden)} (an editor does not show "
                            "them; Gherkin does not read the line as written: delete and retype them)")
    feature = doc.get("feature")
    if not feature:  # not reached for the files above; kept so that nothing passes unread
        return problems + [f"{path}:1: no Feature: line: pytest-bdd cannot bind this file"]
    dialect = Dialect.for_name(feature.get("language", "en"))
    # "* " is a step keyword too, but in a description it is far more often a bullet list.
    step_keywords = tuple({k for k in (dialect.given_keywords + dialect.when_keywords + dialect.then_keywords
                                       + dialect.and_keywords + dialect.but_keywords) if k.strip() != "*"})
    problems += _stray_steps(path, lines, feature, feature["location"]["line"], feature["children"], step_keywords)
    scenarios: list[dict[str, Any]] = []
    for child in feature["children"]:
        if "scenario" in child:
            scenarios.append(child["scenario"])
        elif "rule" in child:
            rule = child["rule"]
            problems += _stray_steps(path, lines, rule, rule["location"]["line"], rule["children"], step_keywords)
            scenarios += [c["scenario"] for c in rule["children"] if "scenario" in c]
    seen: dict[str, list[int]] = {}
    for sc in scenarios:
        seen.setdefault(sc["name"].strip(), []).append(sc["location"]["line"])
        if not sc["steps"]:
            problems.append(f"{path}:{sc['location']['line']}: scenario {sc['name']!r} has no steps "
                            "(it would pass having checked nothing)")
    outline_keywords = {k.strip() for k in dialect.scenario_outline_keywords}
    for sc in scenarios:
        empty = _example_problems(path, sc, outline_keywords)
        problems += empty or _placeholder_problems(path, sc)
    for name, at in seen.items():
        if len(at) > 1:
            problems.append(f"{path}:{at[0]}: {len(at)} scenarios titled {name!r} (lines "
                            f"{', '.join(map(str, at))}): pytest-bdd would keep only the last; give each its own title")
    return sorted(problems, key=lambda p: int(p.split(":")[1]) if p.split(":")[1].isdigit() else 0)


_PLACEHOLDER = re.compile(r"<([^<>\n]+)>")


def _example_problems(path: Path, scenario: dict[str, Any], outline_keywords: set[str]) -> list[str]:
    """A Scenario Outline with no example row (no Examples, an ``Examples:`` with no table, or
    a header with no rows), or one Examples table with no rows beside full ones.

    pytest-bdd 9 runs an outline with no rows once, its steps given the literal
    ``<placeholder>`` text (``collect_example_parametrizations`` returns None), so it could pass
    having tried nothing; an empty table beside a full one is dropped in silence."""
    examples = scenario.get("examples") or []
    is_outline = scenario.get("keyword", "").strip() in outline_keywords
    if not examples and not is_outline:
        return []
    kind = scenario.get("keyword", "Scenario Outline").strip()
    rows = sum(len(t.get("tableBody") or []) for t in examples)
    if rows == 0:
        return [f"{path}:{scenario['location']['line']}: {kind} {scenario['name']!r} has no example rows "
                f"({'no Examples:' if not examples else 'its Examples have no rows under their header'}): pytest-bdd "
                "would run it once, its steps given the literal <placeholder> text; add an Examples table with rows"]
    return [f"{path}:{t['location']['line']}: the Examples table of {kind} {scenario['name']!r} has "
            f"{'no rows' if t.get('tableHeader') else 'no rows (no table at all)'}: it adds nothing to the run; "
            "fill it or delete it" for t in examples if not t.get("tableBody")]


def _placeholder_problems(path: Path, scenario: dict[str, Any]) -> list[str]:
    """A Scenario Outline whose steps name a ``<placeholder>`` that an Examples table lacks.

    pytest-bdd then sends the literal text (``"<id>"``) to the step, so a scenario can pass
    having never tried the value the analyst wrote in the table. Placeholders in step text,
    doc strings and data tables are checked against every Examples table of the outline."""
    examples = scenario.get("examples") or []
    if not examples:
        return []
    used: dict[str, int] = {}
    for step in scenario["steps"]:
        texts = [step.get("text", "")]
        if step.get("docString"):
            texts.append(step["docString"].get("content", ""))
        for row in (step.get("dataTable") or {}).get("rows", []):
            texts += [cell.get("value", "") for cell in row.get("cells", [])]
        for text in texts:
            for name in _PLACEHOLDER.findall(text):
                used.setdefault(name, step["location"]["line"])
    problems = []
    for table in examples:
        header = table.get("tableHeader")
        columns = {c["value"] for c in (header or {}).get("cells", [])}
        for name, line in sorted(used.items(), key=lambda kv: kv[1]):
            if name not in columns:
                problems.append(
                    f"{path}:{line}: step uses <{name}> but the Examples table at line "
                    f"{table['location']['line']} has no column {name!r} (its columns: "
                    f"{', '.join(sorted(columns)) or 'none'}): the step would receive the literal text <{name}>")
    return problems


def _parse_problem(path: Path, lines: list[str], err: Any) -> str:
    line = (getattr(err, "location", None) or {}).get("line") or 0
    content = lines[line - 1] if 0 < line <= len(lines) else ""
    hidden = invisible_characters(content)
    msg = str(err).split("\n")[0]
    where = f"{path}:{line}: Gherkin parse error: {msg}; the line reads {content!r}"
    if hidden:
        where += f"; it holds invisible characters: {', '.join(hidden)} (delete and retype them)"
    return where


def _stray_steps(path: Path, lines: list[str], node: dict[str, Any], start: int, children: Iterable[dict[str, Any]],
                 step_keywords: tuple[str, ...]) -> list[str]:
    """Step lines between a ``Feature:``/``Rule:`` line and its first child: Gherkin reads them
    as description, so the step would never run."""
    first = [c[k]["location"]["line"] for c in children for k in c if isinstance(c[k], dict) and "location" in c[k]]
    tag_lines = [t["location"]["line"] for c in children for k in c if isinstance(c[k], dict)
                 for t in c[k].get("tags", [])]
    end = min(first + tag_lines) if first or tag_lines else len(lines) + 1
    found = []
    for number in range(start + 1, end):
        text = lines[number - 1].strip()
        if text.startswith(step_keywords):
            kind = node.get("keyword", "Feature").strip()
            found.append(f"{path}:{number}: step outside a Scenario or Background: {text!r} is under "
                         f"{kind}: {node.get('name', '')!r}, where Gherkin reads it as description and never runs it; "
                         "move it into a Background: (or a Scenario)")
    return found


# --------------------------------------------------------------------------------------
# house style: the kept linter (gherkin-lint, npm) plus aligned tables, `python -m support.gherkin`

LINTER_DIR = Path(__file__).resolve().parent.parent / "tools" / "gherkin-lint"
FLAG_TAGS = ("@slow", "@destructive", "@security", "@bad_input", "@exclusive")
OS_TAGS = ("@os:linux", "@os:windows", "@os:macos")


class LinterUnavailable(RuntimeError):
    """gherkin-lint cannot be installed or run here (no ``npm``/``node``, or ``npm ci`` failed);
    the message says which and how to fix it."""


def linter_command() -> list[str]:
    """The gherkin-lint command (``tools/gherkin-lint/node_modules/.bin/gherkin-lint``),
    installed first with ``npm ci`` from the pinned lock file when missing (about 10 s, from
    the npm registry). Raises :class:`LinterUnavailable`."""
    import shutil
    import subprocess

    exe = LINTER_DIR / "node_modules" / ".bin" / "gherkin-lint"
    if not exe.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise LinterUnavailable("npm is not installed: the feature linter (gherkin-lint) runs on Node.js; "
                                    "install nodejs and npm (apt-get install nodejs npm)")
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=LINTER_DIR,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not exe.exists():
            raise LinterUnavailable(f"npm ci in {LINTER_DIR} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return [str(exe)]


def linter_config(tool_rows: Iterable[str]) -> dict[str, Any]:
    """tools/gherkin-lint/.gherkin-lintrc with ``allowed-tags`` narrowed to the tags the suite
    knows: the flags, ``@os:…``, ``@tool:<row>`` for each canonical tool/resource/prompt and
    ``@arg:<argument>`` for each argument a canonical tool takes (support/coverage.py)."""
    import json

    config = json.loads((LINTER_DIR / ".gherkin-lintrc").read_text())
    from support.coverage import ALL_ARGUMENTS  # @arg:<argument> claims (support/coverage.py)

    config["allowed-tags"] = ["on", {"tags": [*FLAG_TAGS, *OS_TAGS, *(f"@tool:{row}" for row in tool_rows),
                                              *(f"@arg:{name}" for name in sorted(ALL_ARGUMENTS))]}]
    return config


def table_problems(path: Path) -> list[str]:
    """Data tables and Examples whose ``|`` do not line up row under row (gherkin-lint does not
    check alignment), as ``<path>:<line>: …``."""
    try:
        text = read_feature(path)
        doc = Parser().parse(text)
    except (UnicodeDecodeError, CompositeParserException, ParserError):
        return []  # problems_of reports these
    lines = text.split("\n")
    problems = []
    for rows in _tables(doc):
        numbers = [row["location"]["line"] for row in rows]
        pipes = {n: _pipe_columns(lines[n - 1]) for n in numbers}
        first = pipes[numbers[0]]
        for n in numbers[1:]:
            if pipes[n] != first:
                problems.append(f"{path}:{n}: table row not aligned with line {numbers[0]} "
                                "(pad the cells so every | sits under the one above)")
    return problems


def _pipe_columns(line: str) -> list[int]:
    cols, i = [], 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == "|":
            cols.append(i)
        i += 1
    return cols


def _tables(node: Any) -> Iterable[list[dict[str, Any]]]:
    if isinstance(node, dict):
        if "rows" in node and isinstance(node["rows"], list):  # a step's data table
            yield node["rows"]
        if "tableHeader" in node and node.get("tableHeader"):  # Examples
            yield [node["tableHeader"], *node.get("tableBody", [])]
        for value in node.values():
            yield from _tables(value)
    elif isinstance(node, list):
        for value in node:
            yield from _tables(value)


def tag_problems(path: Path, tool_rows: Iterable[str]) -> list[str]:
    """What collection (support/plugin.py) rejects about a feature's tools, found in its text
    for the linter: a scenario with no ``@tool:`` tag (on it, its Rule or its feature) and no
    Examples column ``tool`` in every Examples table; an Examples ``tool`` value that is not one
    of ``tool_rows``. (Unknown tags are gherkin-lint's ``allowed-tags``.) As ``<path>:<line>: …``."""
    try:
        doc = Parser().parse(read_feature(path))
    except (UnicodeDecodeError, CompositeParserException, ParserError):
        return []  # problems_of reports these
    rows = set(tool_rows)
    feature = doc.get("feature") or {}

    def tagged(node: dict[str, Any]) -> bool:
        return any(t["name"].startswith("@tool:") for t in node.get("tags", []))

    problems = []
    groups = [(tagged(feature), c) for c in feature.get("children", []) if "scenario" in c]
    for child in feature.get("children", []):
        if "rule" in child:
            groups += [(tagged(feature) or tagged(child["rule"]), c) for c in child["rule"]["children"] if "scenario" in c]
    for inherited, child in groups:
        sc = child["scenario"]
        untagged = not (inherited or tagged(sc))
        tables = sc.get("examples") or []
        for table in tables:
            columns = [c["value"] for c in (table.get("tableHeader") or {}).get("cells", [])]
            if "tool" not in columns:
                continue
            i = columns.index("tool")
            for row in table.get("tableBody") or []:
                value = row["cells"][i]["value"]
                if value not in rows:
                    problems.append(f"{path}:{row['location']['line']}: Examples column tool names no canonical tool: "
                                    f"{value!r}")
        tool_columns = [t for t in tables if "tool" in [c["value"] for c in (t.get("tableHeader") or {}).get("cells", [])]]
        if untagged and (not tables or len(tool_columns) < len(tables)):
            problems.append(f"{path}:{sc['location']['line']}: scenario {sc['name']!r} has no @tool:<canonical tool> "
                            "tag (on it, its Rule or its feature, or an Examples column named tool): every scenario "
                            "is in the matrix")
    return problems


def lint(paths: Iterable[Path | str], tool_rows: Iterable[str] | None = None) -> tuple[int, str]:
    """Lint feature files/folders the house way: gherkin-lint (indentation, duplicate names,
    empty files and backgrounds, known tags, whitespace, …) with :func:`linter_config`, then
    aligned tables and the checks collection runs (:func:`problems_of`, :func:`tag_problems`,
    :func:`title_problems` against the whole of ``features/`` for a file inside it). Returns
    ``(exit status, report text)``: 0 and "" when clean; 2 and one line per path that does not
    exist. Raises :class:`LinterUnavailable`."""
    import json
    import re
    import subprocess
    import tempfile

    if tool_rows is None:
        from support.report.canonical import matrix_rows

        tool_rows = matrix_rows()
    paths = [Path(p) for p in paths]
    missing = [p for p in paths if not p.exists()]
    if missing:  # gherkin-lint reports nothing for a path that matches no file
        return 2, "\n".join(f"{p}: no such file or folder (names are case-sensitive)" for p in missing)
    tool_rows = list(tool_rows)
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="gherkin-lintrc-") as cfg:
        json.dump(linter_config(tool_rows), cfg)
        cfg.flush()
        proc = subprocess.run([*linter_command(), "-c", cfg.name, *map(str, paths)],
                              capture_output=True, text=True, timeout=300)
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr).strip()
    files = sorted({f for p in paths for f in ([p] if p.is_file() else p.rglob("*.feature"))})
    ours = [problem for f in files for problem in (*table_problems(f), *problems_of(f), *tag_problems(f, tool_rows))]
    # one title in two files, as collection sees it: against the whole spec for a file inside it
    from support.steps_catalogue import FEATURES_DIR

    spec = FEATURES_DIR.resolve()
    others = set(spec.rglob("*.feature")) if any(f.resolve().is_relative_to(spec) for f in files) else set()
    linted = {f.resolve() for f in files}
    ours += [p.text for p in title_problems(sorted(linted | others)) if linted & set(p.files)]
    report = "\n".join(filter(None, [out, *ours]))
    return (1 if proc.returncode != 0 or ours else 0), report


def main(argv: list[str] | None = None) -> int:
    """``python -m support.gherkin lint [PATH …]`` (default ``features``): exit 0 when clean."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m support.gherkin", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_lint = sub.add_parser("lint", help="lint feature files the house way")
    p_lint.add_argument("paths", nargs="*", default=["features"])
    args = parser.parse_args(argv)
    try:
        status, report = lint(args.paths)
    except LinterUnavailable as exc:
        print(f"feature linter unavailable: {exc}")
        return 2
    print(report or f"features clean: {', '.join(args.paths)}")  # a missing path: status 2 and its name
    return status


if __name__ == "__main__":
    raise SystemExit(main())
