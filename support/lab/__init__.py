"""The live Velociraptor lab: a server and enrolled Linux client(s) the suite starts and stops.

Three kinds share one :class:`Lab` protocol and one lifecycle (``with Kind(...) as lab``:
``start()`` inside the cleanup guard, ``close()`` always), so waits and the oracle never
branch on the kind:

- :class:`EmbeddedLab` (default, ``embedded.py``): local processes on 127.0.0.1;
- :class:`DockerLab` (``docker.py``): the same configs served by containers of a locally
  built image (``docker-compose.test.yml``);
- :class:`ExternalLab` (``external.py``): a user's deployment, through their api_client.yaml.

The rest of the package: ``base.py`` (protocol, lifecycle, helpers), ``config.py`` (config
generation), ``ready.py`` (readiness waits), ``certs.py`` (certificate monitor),
``provision.py`` (the Velociraptor build), ``plugin.py`` (the pytest options and fixtures),
``__main__.py`` (``python -m support.lab up|status|down|logs``).
"""
from support.errors import LabError
from support.lab.base import Lab, LabBase, free_ports
from support.lab.config import LabConfig, reissue_frontend_cert
from support.lab.docker import DockerLab, Dockerd
from support.lab.embedded import EmbeddedLab
from support.lab.external import ExternalLab

__all__ = ["Lab", "LabBase", "LabError", "LabConfig", "EmbeddedLab", "DockerLab", "Dockerd", "ExternalLab",
           "free_ports", "reissue_frontend_cert"]
