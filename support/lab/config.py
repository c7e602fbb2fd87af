"""A lab's Velociraptor configuration, generated non-interactively with every listener on 127.0.0.1.

:class:`LabConfig` writes ``server.config.yaml``, ``client.config.yaml`` and ``api_client.yaml``
(an administrator API user named ``raptorspec``) into the lab directory with the binary's own
``config generate`` / ``config client`` / ``config api_client``; embedded and docker labs share it.
Every private key it writes is registered with :mod:`support.secrets`, so logs never show it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from support.errors import LabError
from support.lab.base import free_ports, run_checked
from support.oracle import load_api_config
from support.secrets import register_secret

API_USER = "raptorspec"


class LabConfig:
    """Generates a lab's configs non-interactively, all listeners on 127.0.0.1."""

    def __init__(self, binary: Path, lab_dir: Path, *, ports: list[int] | None = None):
        self.binary = binary
        self.dir = lab_dir
        self.frontend_port, self.api_port, self.gui_port, self.monitoring_port = ports or free_ports(4)
        self.server_config = lab_dir / "server.config.yaml"
        self.client_config = lab_dir / "client.config.yaml"
        self.api_config = lab_dir / "api_client.yaml"
        self.datastore = lab_dir / "datastore"

    def merge_doc(self, datastore: str, client_dir_expr: str) -> dict[str, Any]:
        return {
            "Frontend": {"bind_address": "127.0.0.1", "bind_port": self.frontend_port, "hostname": "localhost"},
            "API": {"bind_address": "127.0.0.1", "bind_port": self.api_port},
            "GUI": {"bind_address": "127.0.0.1", "bind_port": self.gui_port},
            "Monitoring": {"bind_address": "127.0.0.1", "bind_port": self.monitoring_port},
            "Client": {
                "server_urls": [f"https://127.0.0.1:{self.frontend_port}/"],
                "writeback_linux": f"{client_dir_expr}/velociraptor.writeback.yaml",
                "tempdir_linux": client_dir_expr,
                "max_poll": 2,
                # Retry a refused connection after max_poll + U(0, max_poll_std) seconds: the
                # default jitter (30 s) made a docker client that starts beside its server
                # enrol ~16 s after the server was ready (bench/results/lab_boot.json).
                "max_poll_std": 1,
            },
            "Datastore": {"implementation": "FileBaseDataStore", "location": datastore,
                          "filestore_directory": datastore},
            "Logging": {"output_directory": f"{datastore}/logs", "separate_logs_per_component": True},
            "defaults": {"acl_lru_timeout_sec": 5},
            "security": {"disable_inventory_service_external_access": True},
        }

    def generate(self, *, datastore: str | None = None, client_dir_expr: str = "$RAPTORSPEC_CLIENT_DIR") -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.datastore.mkdir(exist_ok=True)
        merge = json.dumps(self.merge_doc(datastore or str(self.datastore), client_dir_expr))
        server_yaml = run_checked([str(self.binary), "config", "generate", "--merge", merge], "generating the server config")
        if "Frontend" not in server_yaml:
            raise LabError(f"`config generate` printed no server config:\n{server_yaml[-500:]}")
        server_doc = yaml.safe_load(server_yaml)
        reissue_frontend_cert(server_doc)
        self.server_config.write_text(yaml.safe_dump(server_doc, sort_keys=False))
        self.server_config.chmod(0o600)
        client_yaml = run_checked([str(self.binary), "--config", str(self.server_config), "config", "client"],
                                  "generating the client config")
        self.client_config.write_text(client_yaml)
        self.client_config.chmod(0o644)
        run_checked([str(self.binary), "--config", str(self.server_config), "config", "api_client",
                     "--name", API_USER, "--role", "administrator", str(self.api_config)],
                    "generating the API client config")
        self.api_config.chmod(0o600)
        api = load_api_config(self.api_config)
        register_secret(api["client_private_key"])
        server = yaml.safe_load(self.server_config.read_text())
        for key in (server.get("Frontend", {}).get("private_key"), server.get("GUI", {}).get("gw_private_key"),
                    server.get("CA", {}).get("private_key")):
            if key:
                register_secret(key)

    def certificates(self) -> dict[str, str]:
        server = yaml.safe_load(self.server_config.read_text())
        api = yaml.safe_load(self.api_config.read_text())
        return {
            "CA (Client.ca_certificate)": server["Client"]["ca_certificate"],
            "Frontend.certificate": server["Frontend"]["certificate"],
            "GUI.gw_certificate": server.get("GUI", {}).get("gw_certificate", ""),
            "api_client.yaml client_cert": api["client_cert"],
        }

    def ca_pem(self) -> str:
        return yaml.safe_load(self.api_config.read_text())["ca_certificate"]


def reissue_frontend_cert(server_doc: dict[str, Any], days: int = 365) -> None:
    """Re-issue the frontend/API certificate, signed by the lab's CA, naming 127.0.0.1 and
    localhost besides ``VelociraptorServer``.

    Velociraptor's own certificate names only ``VelociraptorServer``; a gRPC client that does
    not override the TLS target name (megaraptor-mcp, for one) then cannot reach an API on
    127.0.0.1 at all. The lab names the address it is reached on, as a deployment behind a
    real name would; clients still verify ``VelociraptorServer`` as before.
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    ca_cert = x509.load_pem_x509_certificate(server_doc["Client"]["ca_certificate"].encode())
    ca_key = serialization.load_pem_private_key(server_doc["CA"]["private_key"].encode(), password=None)
    old = x509.load_pem_x509_certificate(server_doc["Frontend"]["certificate"].encode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(old.subject).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("VelociraptorServer"), x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                              x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_doc["Frontend"]["certificate"] = cert.public_bytes(serialization.Encoding.PEM).decode()
    server_doc["Frontend"]["private_key"] = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
