"""The one place that reaches into pytest-bdd's private registries.

pytest-bdd 9 keeps two module-level registries with no public accessor:

- ``pytest_bdd.scenario.scenario_wrapper_template_registry``: generated test function ->
  its :class:`pytest_bdd.scenario.ScenarioTemplate` (feature, name, steps, tags, line);
- ``pytest_bdd.steps.step_function_context_registry``: step fixture -> its
  ``StepFunctionContext`` (type, the step function, its parser, target fixture).

Everything in the suite that needs them calls :func:`scenario_of` or :func:`step_definitions`,
so that an upgrade of pytest-bdd breaks here, in one place, with ``tests/test_steps_catalogue.py``
and ``tests/test_bdd.py``-style checks failing first.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable


def scenario_of(obj: Any) -> Any:
    """The pytest-bdd scenario (a ``ScenarioTemplate``) behind a test function or a pytest
    item (its ``.obj``); None for anything that is not a pytest-bdd scenario."""
    function = getattr(obj, "obj", obj)
    found = getattr(function, "__scenario__", None)
    if found is not None:
        return found
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    try:
        return scenario_wrapper_template_registry.get(function)
    except TypeError:  # not hashable / not weak-referenceable
        return None


@dataclass(frozen=True)
class StepDefinition:
    """One step definition: its type ("given" / "when" / "then"), its phrase (the parser's
    text: a ``parse`` format, or a regular expression for ``parsers.re``), its parser kind
    ("string", "parse", "cfparse", "re"), the function, and where it is written."""

    type: str
    phrase: str
    kind: str
    func: Callable[..., Any]
    target_fixture: str | None
    parser: Any

    @property
    def module(self) -> str:
        return self.func.__module__ or ""

    @property
    def line(self) -> int:
        return self.func.__code__.co_firstlineno  # the first decorator's line

    @property
    def doc(self) -> str:
        """The first line of the step function's docstring ("" when it has none)."""
        return (inspect.getdoc(self.func) or "").strip().splitlines()[0] if inspect.getdoc(self.func) else ""

    def matches(self, text: str) -> bool:
        """Whether this definition binds a step written ``text`` (pytest-bdd's own matching)."""
        return bool(self.parser.is_matching(text))


def _kind(parser: Any) -> str:
    return {"string": "string", "parse": "parse", "cfparse": "cfparse", "re": "re"}.get(
        type(parser).__name__, type(parser).__name__)


def step_definitions(modules: tuple[str, ...] | None = None) -> list[StepDefinition]:
    """Every step definition registered so far (import the step modules first), in source
    order per module; only those of ``modules`` (dotted names) when given."""
    from pytest_bdd.steps import step_function_context_registry

    out = []
    for ctx in list(step_function_context_registry.values()):
        if modules is not None and (ctx.step_func.__module__ or "") not in modules:
            continue
        out.append(StepDefinition(type=ctx.type or "step", phrase=ctx.parser.name, kind=_kind(ctx.parser),
                                  func=ctx.step_func, target_fixture=ctx.target_fixture, parser=ctx.parser))
    unique = {(d.module, id(d.func), d.type, d.phrase): d for d in out}
    return sorted(unique.values(), key=lambda d: (d.module, d.line, d.phrase))
