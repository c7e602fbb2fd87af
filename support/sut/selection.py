"""Which servers under test a run uses, and their profiles.

Options (added by :mod:`support.sut.plugin`):

- ``--sut NAME`` (repeatable): run every scenario against each named SUT.
- ``--sut all``: every profile whose server can be had — the reference server and the
  three PyPI servers always (the PyPI ones installed on demand into their own venvs),
  megaraptor only when ``--sut-command`` says how to start it.
- ``--sut-command "CMD"``: the command line of a server the suite does not install. With
  ``--sut megaraptor`` it starts megaraptor-mcp (``"python -m megaraptor_mcp"`` or the path
  of its venv); with ``--sut-profile path/to/profile.py`` any other stdio MCP server, mapped
  by that file's ``PROFILE``. Given with one PyPI ``--sut`` only, it replaces the suite's own
  install of that server (to test your checkout of it).
- ``--sut-url URL``: ``--sut-command``'s twin, by the same rules: the server is reached over
  Streamable HTTP at URL instead of started on stdio. ``--sut NAME --sut-url URL`` is NAME's
  profile at URL; ``--sut-profile PATH --sut-url URL`` that profile; ``--sut-url`` alone
  megaraptor's. Not together with ``--sut-command``.

**Default, when no --sut is given: the reference server and the three PyPI SUTs**
(reference, velociraptor-mcp-server, iflow-mcp-mgreen27-mcp-velociraptor,
iflow-mcp-socfortress-velociraptor-mcp-server), so a newcomer's first run shows the whole
matrix — one column of a server that meets the spec, and three real servers from PyPI —
with no setup beyond network access to PyPI. The reference server is *bundled*: it is
this project's own ``reference/`` package, run by the suite's Python. When ``--sut-command`` is given without ``--sut``, the run
uses megaraptor with that command (or the ``--sut-profile`` SUT).
"""
from __future__ import annotations

import importlib
import importlib.util
import shlex
from pathlib import Path
from typing import Any

from support.sut.profiles import Profile, profile_problems
from support.sut.profiles.megaraptor import PROFILE as MEGARAPTOR
from support.sut.profiles.mgreen27 import PROFILE as MGREEN27
from support.sut.profiles.reference import PROFILE as REFERENCE
from support.sut.profiles.socfortress import PROFILE as SOCFORTRESS
from support.sut.profiles.velociraptor_mcp_server import PROFILE as VELOCIRAPTOR_MCP_SERVER

PROFILES: dict[str, Profile] = {
    p.name: p for p in (REFERENCE, MEGARAPTOR, VELOCIRAPTOR_MCP_SERVER, MGREEN27, SOCFORTRESS)
}
PYPI_SUTS: tuple[str, ...] = tuple(name for name, p in PROFILES.items() if p.installable)


def is_bundled(profile: Profile) -> bool:
    """Whether a SUT ships with the suite (runs from its own environment: no install, no --sut-command)."""
    return bool(getattr(profile, "bundled", False))


BUNDLED_SUTS: tuple[str, ...] = tuple(name for name, p in PROFILES.items() if is_bundled(p))
#: What a run without --sut uses: the bundled reference server, then the PyPI servers.
DEFAULT_SUTS: tuple[str, ...] = BUNDLED_SUTS + PYPI_SUTS


def needs_command(profile: Profile) -> bool:
    """Whether a SUT can only be started with a --sut-command (neither bundled nor on PyPI)."""
    return not profile.installable and not is_bundled(profile)


class SutConfigError(ValueError):
    """The --sut options do not name a runnable set of servers."""


#: Where a run keeps the profile it loaded with --sut-profile (in its own config, so that
#: loading one never changes :data:`PROFILES` for another run in the same process).
_USER_PROFILES: Any = None


def _user_profiles(config: Any) -> dict[str, Profile] | None:
    """The --sut-profile profiles of one pytest run (None for a config without a stash)."""
    global _USER_PROFILES
    stash = getattr(config, "stash", None)
    if stash is None:
        return None
    if _USER_PROFILES is None:
        import pytest

        _USER_PROFILES = pytest.StashKey[dict]()
    return stash.setdefault(_USER_PROFILES, {})


def get_profile(name: str, config: Any = None) -> Profile:
    """The profile of a SUT by name: one of :data:`PROFILES`, or the one this run (``config``)
    loaded with --sut-profile. Raises :class:`SutConfigError` for an unknown name."""
    user = _user_profiles(config) or {}
    try:
        return user.get(name) or PROFILES[name]
    except KeyError:
        raise SutConfigError(f"unknown SUT {name!r}; known: {', '.join([*PROFILES, *user])}") from None


def load_profile_file(path: str | Path) -> Profile:
    """Load ``PROFILE`` from a profile module given by path (not registered: see :func:`resolve_suts`).

    Raises :class:`SutConfigError` when the file is missing, defines no named ``PROFILE``, or
    its profile has a key that names nothing canonical (:func:`~support.sut.profiles.profile_problems`:
    each such key with the closest canonical names)."""
    path = Path(path)
    if not path.is_file():
        raise SutConfigError(f"--sut-profile {path}: no such file")
    spec = importlib.util.spec_from_file_location(f"raptorspec_sut_profile_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    profile = getattr(module, "PROFILE", None)
    if not isinstance(profile, Profile) or not profile.name:
        raise SutConfigError(f"--sut-profile {path}: defines no PROFILE (a named support.sut.profiles.Profile)")
    problems = profile_problems(profile)
    if problems:
        raise SutConfigError(f"--sut-profile {path}: names what the canonical contract does not have "
                             f"(support/contract.py):\n  " + "\n  ".join(problems))
    return profile


def sut_command(config: Any) -> list[str] | None:
    """The --sut-command, split like a shell would (None when not given)."""
    raw = _opt(config, "sut_command")
    return shlex.split(raw) if raw else None


def resolve_suts(config: Any) -> list[str]:
    """The SUT names of this run, in a stable order (see the module docstring)."""
    asked: list[str] = [n for item in (_opt(config, "sut") or []) for n in item.split(",") if n.strip()]
    asked = [n.strip() for n in asked]
    command = _opt(config, "sut_command")
    url = _opt(config, "sut_url")
    if url and command:
        raise SutConfigError("--sut-url and --sut-command both say how to reach the SUT; give one of them")
    command = command or url   # --sut-url selects SUTs exactly like --sut-command
    profile_file = _opt(config, "sut_profile")
    custom = None
    if profile_file:
        loaded = load_profile_file(profile_file)
        custom = loaded.name
        user = _user_profiles(config)
        if user is not None:
            user[custom] = loaded
    if custom and not command:
        raise SutConfigError(f"--sut-profile {profile_file} needs --sut-command or --sut-url (how to reach that server)")

    if not asked:
        if command:
            return [custom or MEGARAPTOR.name]
        return list(DEFAULT_SUTS)

    names: list[str] = []
    for name in asked:
        if name == "all":
            names += list(DEFAULT_SUTS)
            if command:
                names.append(custom or MEGARAPTOR.name)
            continue
        profile = get_profile(name, config)
        if needs_command(profile) and not command:
            raise SutConfigError(
                f"SUT {name} is not installed by the suite: add --sut-command (or --sut-url), e.g. "
                f'--sut {name} --sut-command "python -m megaraptor_mcp"'
            )
        names.append(name)
    unique = list(dict.fromkeys(names))
    commanded = [n for n in unique if needs_command(get_profile(n, config))]
    if len(commanded) > 1:
        raise SutConfigError(f"one --sut-command cannot start {', '.join(commanded)}; run them separately")
    return unique


def _opt(config: Any, name: str) -> Any:
    if hasattr(config, "getoption"):
        try:
            return config.getoption(name)
        except ValueError:
            return None
    if isinstance(config, dict):
        return config.get(name)
    return getattr(config, name, None)
