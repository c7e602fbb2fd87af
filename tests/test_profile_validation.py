"""A SUT profile names canonical tools, resources and prompts only: a misspelled key fails
loading with the closest canonical names (it was accepted and the tool just skipped)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from support.sut.profiles import profile_problems
from support.sut.selection import PROFILES, SutConfigError, load_profile_file

PROFILE_FILE = '''
from typing import ClassVar
from support.sut.profiles import Profile, ToolMap


class Mine(Profile):
    name: ClassVar[str] = "mine"
    tools: ClassVar[dict] = {{"run_vql": ToolMap("q"), {tool!r}: ToolMap("x")}}
    resources: ClassVar[dict] = {{{resource!r}: "mine://info"}}
    prompts: ClassVar[dict] = {{{prompt!r}: "p"}}
    known_defects: ClassVar[dict] = {{{defect!r}: "why"}}


PROFILE = Mine()
'''
GOOD = {"tool": "vql_help", "resource": "velociraptor://server-info", "prompt": "threat_hunt",
        "defect": "run_vql::A query"}


def _write(tmp_path: Path, **over: str) -> Path:
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent(PROFILE_FILE.format(**{**GOOD, **over})))
    return path


def test_a_profile_of_canonical_names_loads(tmp_path):
    assert load_profile_file(_write(tmp_path)).name == "mine"


@pytest.mark.parametrize(("over", "expected"), [
    ({"tool": "run_vqll"}, "tools key 'run_vqll' is no canonical tool; closest: run_vql"),
    ({"resource": "velociraptor://serverinfo"}, "resources key 'velociraptor://serverinfo' is no canonical "
                                                "resource; closest: velociraptor://server-info"),
    ({"prompt": "threat_hunting"}, "prompts key 'threat_hunting' is no canonical prompt; closest: threat_hunt"),
    ({"defect": "run_vqll::A query"}, "known_defects key 'run_vqll::A query' names no canonical tool, "
                                      "resource:<uri> or prompt:<name> ('run_vqll'); closest: run_vql"),
    ({"defect": "prompt:threat_hunting"}, "closest: prompt:threat_hunt"),
], ids=["tool", "resource", "prompt", "defect", "defect-prompt"])
def test_a_misspelled_key_fails_loading_with_the_closest_names(tmp_path, over, expected):
    with pytest.raises(SutConfigError) as caught:
        load_profile_file(_write(tmp_path, **over))
    assert "mine.py" in str(caught.value) and expected in str(caught.value), str(caught.value)


def test_the_bundled_profiles_name_only_canonical_keys():
    for profile in PROFILES.values():
        assert profile_problems(profile) == [], profile.name


def test_every_known_defect_title_of_the_bundled_profiles_names_one_scenario_of_the_spec():
    """A ``tool::<title>`` key whose title no scenario has never applies (a renamed scenario);
    titles are unique across the spec (collection), so each key lands on exactly one scenario."""
    from support.gherkin import _titles

    features = Path(__file__).resolve().parent.parent / "features"
    titles = [t for path in features.rglob("*.feature") for t, _ in _titles(path)]
    stale = [f"{p.name}: {key!r}" for p in PROFILES.values() for key in p.known_defects
             if "::" in key and titles.count(key.split("::")[1]) != 1]
    assert stale == [], stale
