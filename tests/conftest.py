import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _inner_runs_keep_their_order(request, monkeypatch):
    """Inner pytester runs assert on the order of their own few tests: no shuffling there."""
    if "pytester" in request.fixturenames:
        request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
        monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")
