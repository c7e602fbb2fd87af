"""The old name of :mod:`support.lab.provision`, kept so that ``python -m support.provision``
(the Makefile's ``make velociraptor``, CI, the product brief) keeps working. New code imports
``support.lab.provision``."""
from support.lab.provision import main

if __name__ == "__main__":
    raise SystemExit(main())
