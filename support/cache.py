"""Where the suite keeps what outlives a run (the Velociraptor build, SUT venvs, the background lab).

``$RAPTORSPEC_CACHE`` when set, else ``$XDG_CACHE_HOME/raptorspec`` (``~/.cache/raptorspec``
when XDG_CACHE_HOME is unset or empty). Nothing here creates the folder: callers do, under
their own locks.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The suite's cache folder (a path; not created here)."""
    if os.environ.get("RAPTORSPEC_CACHE"):
        return Path(os.environ["RAPTORSPEC_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "raptorspec"
