"""A profile for tests/sut_fakes/raw_server.py (and the HTTP fake), loaded with --sut-profile.

Only ``run_vql`` is mapped (onto ``echo``); plugin tests drive the raw tools through
``sut.session`` directly.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from support.sut.profiles import Profile, ToolMap, reader, user_command


class RawProfile(Profile):
    name: ClassVar[str] = "raw"
    summary: ClassVar[str] = "the raw JSON-RPC test server"
    tools: ClassVar[dict[str, ToolMap]] = {
        "run_vql": ToolMap("echo", lambda kw: {"text": kw["query"]}, reader()),
    }

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None):
        return user_command(self.name, sut_command), {}


PROFILE = RawProfile()
