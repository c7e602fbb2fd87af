"""The one binding place of the living spec: every .feature file under features/ becomes tests.

Steps live in steps/*.py (loaded as plugins by the root conftest); no test bodies here.
Before binding, every feature is checked for what pytest-bdd would lose in silence (two
scenarios with one title, a step above the first scenario, a scenario with no steps, a parse
error behind an invisible character: ``support/gherkin.py``); collection fails with the list.
Files are read as ``utf-8-sig``: a leading byte-order mark is accepted.

``pytest features/clients/`` or ``pytest features/x.feature[::Scenario title]`` runs just those
scenarios through this module (``support/plugin.py`` maps the arguments).
"""
from pathlib import Path

import pytest
from pytest_bdd import scenarios

from support.gherkin import preload_features, problems_in

_problems = problems_in(Path(__file__).parent)
if _problems:
    pytest.fail("the features hold what pytest-bdd would lose:\n" + "\n".join(_problems), pytrace=False)

preload_features(Path(__file__).parent)  # as utf-8-sig: scenarios() alone ignores its encoding
scenarios(".", encoding="utf-8-sig")
