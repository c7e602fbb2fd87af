"""The one binding place of the living spec: every .feature file under features/ becomes tests.

Steps live in steps/*.py (loaded as plugins by the root conftest); no test bodies here.
Before binding, every feature is checked for what pytest-bdd would lose in silence (two
scenarios with one title, a step above the first scenario, a scenario with no steps, a parse
error behind an invisible character, one title in two files, …: ``support/gherkin.py``);
collection fails with the list. A run of some features fails only on theirs, and names the
other broken files in one warning (they are not bound).
Files are read as ``utf-8-sig``: a leading byte-order mark is accepted.

``pytest features/clients/`` or ``pytest features/x.feature[::Scenario title]`` runs just those
scenarios through this module (``support/plugin.py`` maps the arguments).
"""
from pathlib import Path

from pytest_bdd import scenarios

from support.gherkin import checked_features, preload_features

_features = checked_features(Path(__file__).parent)  # fails collection on a problem of a feature this run runs
preload_features(_features)  # as utf-8-sig: scenarios() alone ignores its encoding
scenarios(*map(str, _features), encoding="utf-8-sig")
