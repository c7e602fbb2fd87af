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
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator


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


# -- usage errors found while configuring ------------------------------------------------

_DEFERRED_USAGE_ERRORS: Any = None  # a pytest.StashKey[list[str]], made on first use


def _deferred_key() -> Any:
    global _DEFERRED_USAGE_ERRORS
    if _DEFERRED_USAGE_ERRORS is None:
        import pytest

        _DEFERRED_USAGE_ERRORS = pytest.StashKey[list]()
    return _DEFERRED_USAGE_ERRORS


@contextmanager
def usage_errors_deferred(config: Any) -> Iterator[None]:
    """Run a ``pytest_configure`` body; a ``pytest.UsageError`` it raises is kept in the config
    and raised by :func:`raise_deferred_usage_errors` at session start instead.

    Why: pytest-bdd 9 pushes its config stack in a ``trylast`` configure hook and pops it in
    ``pytest_unconfigure`` whether or not that push happened (``pytest_bdd/plugin.py``). A
    UsageError raised by a configure hook that runs before pytest-bdd's therefore pops the
    *calling* pytest's config off that stack when pytest runs in-process (``pytest.main``,
    pytester), and its next ``scenarios()`` fails with ``IndexError``. Session start comes after
    every configure hook, whatever the plugins' order; pytest reports a UsageError raised there
    the same way (``ERROR: …``, exit code 4).
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - only UsageError is kept; the rest goes on
        import pytest

        if not isinstance(exc, pytest.UsageError):
            raise
        config.stash.setdefault(_deferred_key(), []).append(str(exc))


def raise_deferred_usage_errors(config: Any) -> None:
    """Raise the usage errors :func:`usage_errors_deferred` kept, as one ``pytest.UsageError``
    (one line each); nothing when there are none. Call it from ``pytest_sessionstart``."""
    import pytest

    problems = config.stash.get(_deferred_key(), [])
    if problems:
        raise pytest.UsageError("\n".join(dict.fromkeys(problems)))


# -- the config of the run that is collecting ------------------------------------------------


def current_config() -> Any:
    """The ``pytest.Config`` of the run collecting now, as pytest-bdd 9 itself finds it for
    ``scenarios()`` (``pytest_bdd.utils.CONFIG_STACK``, pushed at configure, popped at
    unconfigure); None outside a pytest run."""
    from pytest_bdd.utils import CONFIG_STACK

    return CONFIG_STACK[-1] if CONFIG_STACK else None


def visible_step_definitions(node: Any) -> list[StepDefinition]:
    """The step definitions a pytest node (a scenario item) can bind, as pytest-bdd 9 finds them
    (``pytest_bdd.scenario.find_fixturedefs_for_step``): every fixture visible to the node whose
    function is a registered step. Unlike :func:`step_definitions`, this leaves out steps of
    modules another run (or a conftest out of reach) registered; a phrase defined in two visible
    places appears twice."""
    from pytest_bdd.compat import get_fixture_names, getfixturedefs
    from pytest_bdd.steps import step_function_context_registry

    manager = node.session._fixturemanager
    out = []
    for name in get_fixture_names(fixturemanager=manager):
        if not name.startswith("pytestbdd_stepdef_"):
            continue
        for fixturedef in getfixturedefs(manager, name, node) or []:
            ctx = step_function_context_registry.get(fixturedef.func)
            if ctx is not None:
                out.append(StepDefinition(type=ctx.type or "step", phrase=ctx.parser.name, kind=_kind(ctx.parser),
                                          func=ctx.step_func, target_fixture=ctx.target_fixture, parser=ctx.parser))
    unique = {(id(d.func), d.type, d.phrase): d for d in out}
    return sorted(unique.values(), key=lambda d: (d.module, d.line, d.phrase))
