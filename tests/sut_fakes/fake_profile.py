"""A profile for tests/sut_fakes/fake_server.py, loaded with --sut-profile in plugin tests."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from support.sut.profiles import Profile, ToolMap, reader, user_command


class FakeProfile(Profile):
    name: ClassVar[str] = "fake"
    summary: ClassVar[str] = "the misbehaving test server"
    tools: ClassVar[dict[str, ToolMap]] = {
        "list_clients": ToolMap("rows", lambda kw: {"n": kw.get("limit", 3)}, reader(rows=True)),
        "get_client_info": ToolMap("error_json", lambda kw: {"client_id": kw["client_id"]}, reader()),
        "run_vql": ToolMap("echo", lambda kw: {"text": kw["query"]}, reader()),
        "vql_help": ToolMap("hang", lambda kw: {}, reader()),
    }
    resources: ClassVar[dict[str, str]] = {"velociraptor://server-info": "fake://hello"}
    prompts: ClassVar[dict[str, str]] = {"investigate_endpoint": "greet"}
    known_defects: ClassVar[dict[str, str]] = {
        "get_client_info": "answers every client id with not found",
        "run_vql::An echo that works": "a defect that is not there (so the strict xfail fails)",
    }

    def command(self, venv: Path | None, api_config: Path, sut_command: list[str] | None = None):
        return user_command(self.name, sut_command), {"FAKE_API_CONFIG": str(api_config)}


PROFILE = FakeProfile()
