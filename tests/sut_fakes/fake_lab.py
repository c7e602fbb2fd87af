"""A conftest for pytester runs of the SUT layer that need no Velociraptor: its ``lab`` is just
a directory (SUT working dirs go under it) and an api_client.yaml path no fake server reads."""

CONFTEST = """\
import pytest

@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    class Lab:
        dir = tmp_path_factory.mktemp("lab")
        api_config = dir / "api_client.yaml"
    return Lab()
"""
