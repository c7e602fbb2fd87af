"""The external lab: a Velociraptor deployment the user runs, reached through their api_client.yaml.

The suite starts and stops nothing there; ``start()`` only checks that the API accepts
connections. Its ``dir`` is a scratch directory of the run
(SUT logs go there), removed at ``close()``.
"""
from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

from support.errors import LabError
from support.lab.base import LAB_DIRS, LabBase, keep_sut_logs, mark_owner, reap_stale_lab_dirs, warn
from support.oracle import load_api_config
from support.secrets import register_secret


class ExternalLab(LabBase):
    """A deployment the user runs. ``api_config``: the path of its api_client.yaml.

    Construction reads the file: ``FileNotFoundError`` / ``ValueError`` (malformed, never
    quoting the key) when it is unusable. ``__enter__`` raises :class:`LabError` when the
    API does not accept connections.
    """

    mode = "external"

    def __init__(self, api_config: Path):
        self.api_config = Path(api_config).expanduser().resolve()
        cfg = load_api_config(self.api_config)  # clear errors for a missing or malformed file
        register_secret(cfg["client_private_key"])
        self._cfg = cfg
        for line in reap_stale_lab_dirs(Path(tempfile.gettempdir()), prefix="raptorspec-external-"):
            warn(f"removed the scratch directory of a run that ended without cleanup: {line}")
        self.dir = Path(tempfile.mkdtemp(prefix="raptorspec-external-")).resolve()
        mark_owner(self.dir)   # a run killed before close leaves it: the next run removes it
        LAB_DIRS.append(self.dir)
        self.client_ids: list[str] = []
        self.timings: dict[str, float] = {}
        self.kept_dir = None

    def alive(self) -> str | None:
        host, _, port = self._cfg["api_connection_string"].rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
                return None
        except OSError as exc:
            return f"the Velociraptor API at {self._cfg['api_connection_string']} does not accept connections ({exc})"

    def logs(self, lines: int = 30) -> str:
        return f"(external lab: server logs are on the deployment; API {self._cfg['api_connection_string']})"

    def certificates(self) -> dict[str, str]:
        return {"api_client.yaml ca_certificate": self._cfg["ca_certificate"],
                "api_client.yaml client_cert": self._cfg["client_cert"]}

    def start(self) -> None:
        """Check that the API accepts connections (raises :class:`LabError` saying why not)."""
        death = self.alive()
        if death:
            raise LabError(death)

    def close(self, failed: bool = False) -> None:
        """Copy the SUTs' logs beside the report (:func:`support.lab.base.keep_sut_logs`), then
        remove the run's scratch directory (nothing on the deployment is touched)."""
        keep_sut_logs(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
