"""The one binding place of the living spec: every .feature file under features/ becomes tests.

Steps live in steps/*.py (loaded as plugins by the root conftest); no test bodies here.
"""
from pytest_bdd import scenarios

scenarios(".")
