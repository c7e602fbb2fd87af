"""The live lab: it boots, the client enrolls, a collection finishes; and bad input is refused
clearly and leaves nothing behind."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from support.errors import ProvisionError
from support.lab import EmbeddedLab, ExternalLab, LabError, certs, free_ports
from support.lab.provision import verify_binary
from support.ledger import delete_flow
from support.oracle import Oracle, VQLError
from support.waits import wait_flow_done
from support.procs import pid_alive as _pid_alive

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------
# live: the shared session lab (support.plugin's `lab` and `oracle` fixtures)


@pytest.mark.lab
def test_the_client_enrolls_with_its_os_info(lab, oracle):
    rows = oracle.clients()
    assert sorted(r["client_id"] for r in rows) == sorted(lab.client_ids)
    for row in rows:
        assert row["os_info"]["system"] == "linux", row


@pytest.mark.lab
def test_a_collection_through_the_oracle_finishes_with_rows(lab, oracle):
    client_id = lab.client_ids[0]
    flow_id = oracle.collect(client_id, ["Generic.Client.Info"])
    try:
        flow = wait_flow_done(oracle, client_id, flow_id, 60, lab=lab)
        assert flow["state"] == "FINISHED", flow
        rows = oracle.source(client_id, flow_id, "Generic.Client.Info/BasicInformation")
        assert len(rows) == 1 and rows[0]["OS"] == "linux", rows
    finally:
        delete_flow(oracle, client_id, flow_id)


@pytest.mark.lab
@pytest.mark.parametrize("vql", ["SELEKT * FROM nowhere()", "SELECT * FROM no_such_plugin()",
                                 "SELECT * FROM flows(client_id='C.0000000000000000')"])
def test_broken_vql_raises_instead_of_returning_nothing(oracle, vql):
    with pytest.raises(VQLError) as info:
        oracle.query(vql)
    assert vql in str(info.value)


@pytest.mark.lab
def test_every_listener_is_on_loopback(lab):
    if lab.mode != "embedded":
        pytest.skip("checks the embedded lab's own processes")
    server = yaml.safe_load(Path(lab.cfg.server_config).read_text())
    for section in ("Frontend", "API", "GUI", "Monitoring"):
        assert server[section]["bind_address"] == "127.0.0.1", section
    assert all(u.startswith("https://127.0.0.1:") for u in server["Client"]["server_urls"])
    pids = [p.popen.pid for p in lab.procs]
    listening = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True).stdout.splitlines()
    ours = [l for l in listening if any(f"pid={pid}," in l for pid in pids)]
    assert ours, listening
    for line in ours:
        local = line.split()[3]
        assert local.startswith("127.0.0.1:"), line


@pytest.mark.lab
def test_the_client_runs_unprivileged_when_the_harness_is_root(lab):
    if lab.mode != "embedded":
        pytest.skip("checks the embedded lab's own processes")
    if os.geteuid() != 0:
        pytest.skip("the harness is not root: the client runs as the same user")
    client = next(p for p in lab.procs if p.name.startswith("client"))
    uid = int(next(l for l in Path(f"/proc/{client.popen.pid}/status").read_text().splitlines()
                   if l.startswith("Uid:")).split()[1])
    assert uid != 0


# --------------------------------------------------------------------------------------
# live: labs of their own (start, stop, failures)


@pytest.mark.lab
def test_teardown_leaves_no_process_and_no_directory(velociraptor_binary):
    with EmbeddedLab(velociraptor_binary, clients=2) as lab:
        pids = [p.popen.pid for p in lab.procs]
        lab_dir = lab.dir
        assert len(set(lab.client_ids)) == 2
    assert not [p for p in pids if _pid_alive(p)]
    assert not lab_dir.exists()


@pytest.mark.lab
def test_a_taken_port_is_refused_clearly_and_leaves_nothing(velociraptor_binary):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    try:
        lab = EmbeddedLab(velociraptor_binary, ports=[taken, *free_ports(3)])
        with pytest.raises(LabError, match=f"port 127.0.0.1:{taken} is already in use"):
            lab.__enter__()
        assert not lab.dir.exists() and not lab.procs
    finally:
        holder.close()


def _wrapper(tmp_path: Path, real: Path, body: str) -> Path:
    """A stand-in for the Velociraptor binary: ``body`` (sh) runs first, then the real binary."""
    path = tmp_path / "velociraptor"
    path.write_text(f"#!/bin/sh\n{body}\nexec {real} \"$@\"\n")
    path.chmod(0o755)
    return path


def _lab_pids(lab: EmbeddedLab) -> list[int]:
    return [p.popen.pid for p in lab.procs]


@pytest.mark.lab
def test_a_frontend_that_dies_at_start_fails_fast_with_its_log_and_keeps_the_lab_dir(velociraptor_binary, tmp_path):
    # a wrapper that generates configs like the real binary but cannot run a frontend
    broken = _wrapper(tmp_path, velociraptor_binary,
                      'for a in "$@"; do [ "$a" = frontend ] && { echo \'boom: frontend refused\'; exit 7; }; done')
    lab = EmbeddedLab(broken, ready_timeout=60, base_dir=tmp_path / "labs")
    with pytest.raises(LabError) as info:
        lab.__enter__()
    text = str(info.value)
    assert text.startswith("the embedded lab did not start:"), text
    assert "frontend" in text and "exited with code 7" in text and "boom: frontend refused" in text
    assert lab.dir.is_absolute() and lab.dir.is_dir() and (lab.dir / "frontend.log").is_file()
    assert f"kept for inspection (configs, logs, datastore): {lab.dir}" in text
    assert not [p for p in _lab_pids(lab) if _pid_alive(p)]


@pytest.mark.lab
def test_a_client_that_cannot_start_leaves_no_process_and_names_both_logs(velociraptor_binary, tmp_path):
    """Start fails half-way (the server runs, the client dies): the frontend is stopped again,
    the message carries the tails of the frontend AND client logs, the directory is kept."""
    broken = _wrapper(tmp_path, velociraptor_binary,
                      'case " $* " in *" client -v "*) echo "boom: client refused"; exit 9;; esac')
    lab = EmbeddedLab(broken, run_clients_as=None, base_dir=tmp_path / "labs")
    with pytest.raises(LabError) as info:
        lab.__enter__()
    text = str(info.value)
    assert "client-0" in text and "exited with code 9" in text and "boom: client refused" in text
    assert f"last 40 lines of frontend log ({lab.dir}/frontend.log)" in text
    assert f"last 40 lines of client-0 log ({lab.dir}/client-0/client.log)" in text
    assert "Frontend is ready" in text  # the frontend's own tail, not just its name
    assert str(lab.dir) in text and lab.dir.is_dir()
    pids = _lab_pids(lab)
    assert len(pids) == 2 and not [p for p in pids if _pid_alive(p)]


_NEVER_DELIVERS = """name: Custom.Generic.Client.Info
description: raptorspec test - an interrogation flow that never finishes
sources:
  - name: BasicInformation
    query: |
      SELECT * FROM info() WHERE sleep(time=3600)
"""


@pytest.mark.lab
def test_a_client_whose_first_interrogation_never_delivers_is_interrogated_again(velociraptor_binary, tmp_path):
    """Velociraptor interrogates a new client once, by itself; when that one flow does not
    deliver, os_info stays empty for ever (the first-run failure of issue 8). The server
    here interrogates with a Custom.Generic.Client.Info that never finishes (Velociraptor
    prefers a custom interrogation artifact when one exists); the lab must notice and
    collect Generic.Client.Info itself."""
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "never.yaml").write_text(_NEVER_DELIVERS)
    binary = _wrapper(tmp_path, velociraptor_binary,
                      f'for a in "$@"; do [ "$a" = frontend ] && exec {velociraptor_binary} --definitions {defs} "$@"; done')
    with EmbeddedLab(binary, run_clients_as=None, base_dir=tmp_path / "labs", enroll_timeout=90) as lab:
        assert lab.reinterrogated == lab.client_ids and len(lab.client_ids) == 1
        with Oracle(lab.api_config) as oracle:
            cid = lab.client_ids[0]
            client = oracle.client(cid)
            assert client["os_info"]["system"] == "linux", client
            flows = {tuple(f["request"]["artifacts"]): f["state"] for f in oracle.flows(cid)}
    # the server's own interrogation is the one that never finishes; the lab's own finished
    assert flows.get(("Custom.Generic.Client.Info",)) in ("RUNNING", "IN_PROGRESS"), flows
    assert flows.get(("Generic.Client.Info",)) == "FINISHED", flows


def test_lab_cli_up_status_down(velociraptor_binary, tmp_path):
    env = dict(os.environ, RAPTORSPEC_CACHE=str(tmp_path / "cache"), RAPTORSPEC_VELOCIRAPTOR=str(velociraptor_binary))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "support.lab", *args, "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    up = cli("up")
    assert up.returncode == 0, up.stderr
    state = json.loads(up.stdout)
    try:
        assert Path(state["api_config"]).is_file()
        status = cli("status")
        assert status.returncode == 0 and json.loads(status.stdout)["running"] is True
        with Oracle(state["api_config"]) as o:
            assert [c["client_id"] for c in o.clients()] == state["client_ids"]
    finally:
        down = cli("down")
    assert down.returncode == 0, down.stderr
    assert not any(_pid_alive(p) for p in [state["supervisor_pid"], *state["pids"].values()])
    assert not Path(state["dir"]).exists()
    assert cli("status").returncode == 3


# --------------------------------------------------------------------------------------
# bad input, no lab needed


class _Oracle:
    """clients() as Velociraptor lists a client whose interrogation flow never finishes;
    collect() records the request and, from then on, the client shows its os_info."""

    def __init__(self, deliver_on_collect: bool = True):
        self.collected: list[tuple[str, list[str]]] = []
        self.deliver = deliver_on_collect

    def clients(self):
        system = "linux" if self.collected and self.deliver else ""
        return [{"client_id": "C.1", "os_info": {"system": system}, "last_interrogate_flow_id": "F.FIRST"}]

    def flow(self, client_id, flow_id):
        return {"state": "RUNNING", "request": {"artifacts": ["Generic.Client.Info"]}}

    def collect(self, client_id, artifacts):
        self.collected.append((client_id, artifacts))
        return "F.AGAIN"


class _Lab:
    client_ids: list[str] = []

    def __init__(self):
        self.reinterrogated: list[str] = []

    def alive(self):
        return None

    def logs(self, lines=30):
        return "--- client log ---"


def _fake_clock():
    from support.waits import Clock

    t = [0.0]
    return Clock(now=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))


def test_a_client_left_uninterrogated_is_interrogated_again_once():
    from support.lab.ready import wait_enrolled

    oracle, lab = _Oracle(), _Lab()
    assert wait_enrolled(oracle, 1, lab, 60, reinterrogate_after=15, clock=_fake_clock()) == ["C.1"]
    assert oracle.collected == [("C.1", ["Generic.Client.Info"])] and lab.reinterrogated == ["C.1"]


def test_an_interrogation_that_never_comes_names_the_flow_and_what_was_tried():
    from support.errors import WaitTimeout
    from support.lab.ready import wait_enrolled

    oracle, lab = _Oracle(deliver_on_collect=False), _Lab()
    with pytest.raises(WaitTimeout) as info:
        wait_enrolled(oracle, 1, lab, 60, reinterrogate_after=15, clock=_fake_clock())
    text = str(info.value)
    assert "interrogation flow F.FIRST (Generic.Client.Info) is RUNNING" in text, text
    assert "re-interrogated once already" in text and len(oracle.collected) == 1, text


def test_reinterrogation_can_be_turned_off():
    from support.errors import WaitTimeout
    from support.lab.ready import wait_enrolled

    oracle = _Oracle()
    with pytest.raises(WaitTimeout, match="not interrogated yet"):
        wait_enrolled(oracle, 1, _Lab(), 30, reinterrogate_after=None, clock=_fake_clock())
    assert oracle.collected == []


def test_a_missing_binary_is_named(tmp_path):
    with pytest.raises(ProvisionError, match="not found: .*nope"):
        verify_binary(tmp_path / "nope")


def test_a_corrupt_binary_is_refused(tmp_path):
    bad = tmp_path / "velociraptor"
    bad.write_bytes(b"\x7fELF garbage")
    bad.chmod(0o755)
    with pytest.raises(ProvisionError, match="does not run|broken"):
        verify_binary(bad)


def test_a_binary_without_server_plugins_is_refused(tmp_path):
    fake = tmp_path / "velociraptor"
    fake.write_text("#!/bin/sh\n[ \"$1\" = version ] && echo 'version: 0.77.2' && exit 0\necho '## info'\n")
    fake.chmod(0o755)
    with pytest.raises(ProvisionError, match="lacks server VQL plugins.*server_vql"):
        verify_binary(fake)


def test_a_missing_api_config_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="api_client.yaml"):
        ExternalLab(tmp_path / "api_client.yaml")


def test_a_malformed_api_config_is_refused_without_leaking_it(tmp_path):
    path = tmp_path / "api_client.yaml"
    path.write_text("ca_certificate: [unclosed\nclient_private_key: -----BEGIN PRIVATE KEY-----\nSECRET\n")
    with pytest.raises(ValueError, match="not valid YAML") as info:
        ExternalLab(path)
    assert "SECRET" not in str(info.value)
    path.write_text("name: x\n")
    with pytest.raises(ValueError, match="lacks ca_certificate, client_cert, client_private_key"):
        ExternalLab(path)


def test_an_unreachable_external_lab_is_refused(tmp_path, velociraptor_binary):
    api = _api_config_with_cert(tmp_path, days=30)
    with pytest.raises(LabError, match="does not accept connections"):
        ExternalLab(api).__enter__()


def _self_signed(days: int) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "raptorspec-test")])
    now = dt.datetime.now(dt.timezone.utc)
    not_after = now + dt.timedelta(days=days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(min(now, not_after) - dt.timedelta(days=2)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem, key_pem


def _api_config_with_cert(tmp_path: Path, days: int) -> Path:
    pem, key = _self_signed(days)
    port = free_ports(1)[0]
    path = tmp_path / "api_client.yaml"
    path.write_text(yaml.safe_dump({"ca_certificate": pem, "client_cert": pem, "client_private_key": key,
                                    "api_connection_string": f"127.0.0.1:{port}", "name": "t"}))
    return path


def test_an_expired_certificate_is_reported_with_a_hint():
    pem, _ = _self_signed(days=-1)
    with pytest.raises(certs.CertificateProblem) as info:
        certs.check({"api_client.yaml client_cert": pem}, min_days=7, mode="external")
    assert "client_cert" in str(info.value) and "EXPIRED" in str(info.value)
    assert "reissue_certs" in str(info.value)


def test_a_certificate_expiring_soon_is_reported():
    pem, _ = _self_signed(days=3)
    with pytest.raises(certs.CertificateProblem, match=r"in 2\.\d days|in 3\.0 days"):
        certs.check({"Frontend.certificate": pem}, min_days=7, mode="embedded")
    assert certs.check({"Frontend.certificate": pem}, min_days=1, mode="embedded")[0].days_left > 2


def test_the_suite_stops_at_session_start_on_an_expired_external_cert(pytester, tmp_path):
    api = _api_config_with_cert(tmp_path, days=-1)
    pytester.makepyfile(test_x="def test_x(lab):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "support.plugin", "--lab", "external", "--api-config", str(api),
                                           "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*Lab certificates need renewal*", "*EXPIRED*", "*Hint:*"])
    assert result.ret != 0


@pytest.mark.lab
def test_a_session_whose_lab_cannot_start_stops_and_names_the_kept_lab_dir(pytester, velociraptor_binary, tmp_path):
    """Through the `lab` fixture, as a user sees it: the settings fixtures are overridden in the
    user's conftest (here the binary and the lab's base), the session stops with the cause and
    the absolute path of the kept lab directory, and no lab process is left."""
    broken = _wrapper(tmp_path, velociraptor_binary,
                      'for a in "$@"; do [ "$a" = frontend ] && { echo "boom: frontend refused"; exit 7; }; done')
    pytester.makeconftest(
        "import pytest\nfrom pathlib import Path\n"
        f"@pytest.fixture(scope='session')\ndef velociraptor_binary():\n    return Path({str(broken)!r})\n")
    pytester.makepyfile(test_x="def test_x(lab):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "support.plugin", "-p", "no:cacheprovider",
                                           f"--basetemp={tmp_path / 'inner'}")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 3, out[-3000:]
    assert "the embedded lab did not start" in out and "boom: frontend refused" in out, out[-3000:]
    kept = [Path(w) for line in out.splitlines() if "kept for inspection" in line for w in line.split() if w.startswith("/")]
    assert kept and kept[0].is_absolute() and (kept[0] / "frontend.log").is_file(), out[-3000:]
    shutil.rmtree(kept[0])


def test_docker_mode_without_docker_says_how_to_enable_it(monkeypatch, tmp_path):
    from support.lab.docker import DockerUnavailable, Dockerd

    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, no dockerd
    with pytest.raises(DockerUnavailable, match="apt-get install docker.io"):
        Dockerd(tmp_path).ensure()


@pytest.mark.lab
def test_the_api_answers_clients_that_verify_the_address_they_dial(lab):
    """The lab's API cert names 127.0.0.1 and localhost too, so a gRPC client that does not
    override the TLS target name (as megaraptor-mcp does not) still connects."""
    import grpc
    from pyvelociraptor import api_pb2, api_pb2_grpc

    cfg = yaml.safe_load(Path(lab.api_config).read_text())
    creds = grpc.ssl_channel_credentials(cfg["ca_certificate"].encode(), cfg["client_private_key"].encode(),
                                         cfg["client_cert"].encode())
    with grpc.secure_channel(cfg["api_connection_string"], creds) as channel:
        stub = api_pb2_grpc.APIStub(channel)
        req = api_pb2.VQLCollectorArgs(max_wait=1, Query=[api_pb2.VQLRequest(VQL="SELECT 1 AS one FROM scope()")])
        rows = [row for r in stub.Query(req, timeout=20) if r.Response for row in json.loads(r.Response)]
    assert rows == [{"one": 1}]


@pytest.mark.lab
def test_a_killed_harness_leaves_no_orphans(velociraptor_binary):
    """Even a harness killed with SIGKILL (no teardown at all) takes its lab processes along."""
    import shutil

    from support.waits import wait_for

    script = (
        "import json, os, signal, sys\n"
        "from pathlib import Path\n"
        "from support.lab import EmbeddedLab\n"
        f"lab = EmbeddedLab(Path({str(velociraptor_binary)!r}))\n"
        "lab.__enter__()\n"
        "print(json.dumps([str(lab.dir), [p.popen.pid for p in lab.procs]]), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == -9, proc.stderr[-2000:]
    lab_dir, pids = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(pids) == 2
    wait_for(lambda: (not any(_pid_alive(p) for p in pids), [p for p in pids if _pid_alive(p)]),
             "the lab processes of a killed harness to die", 20, 0.2)
    shutil.rmtree(lab_dir)  # nothing ran the teardown: its directory is ours to remove


def test_every_lab_kind_is_a_lab(tmp_path):
    from support.lab import DockerLab, Lab

    docker = DockerLab(Path("/nonexistent"), run_id="x", base_dir=tmp_path, ports=[1, 2, 3, 4])
    embedded = EmbeddedLab(Path("/nonexistent"), base_dir=tmp_path, ports=[1, 2, 3, 4])
    external = ExternalLab(_api_config_with_cert(tmp_path, days=30))
    try:
        for lab in (docker, embedded, external):
            assert isinstance(lab, Lab), type(lab).__name__
            assert lab.dir.is_absolute() and lab.client_ids == [] and lab.timings == {}
    finally:
        for lab in (docker, embedded, external):
            lab.close()
    assert not any(lab.dir.exists() for lab in (docker, embedded, external))


def test_a_release_the_proxy_does_not_serve_is_named_and_leaves_no_scratch(tmp_path):
    import shutil

    from support.lab.provision import build

    if not shutil.which("go"):
        pytest.skip("no go tool on PATH")
    dest = tmp_path / "velociraptor-v0.0.1" / "velociraptor"
    with pytest.raises(ProvisionError, match=r"(?s)did not serve .*@v0\.0\.1.*RAPTORSPEC_VELOCIRAPTOR"):
        build("v0.0.1", dest)
    assert not dest.exists() and not (dest.parent / "build-scratch").exists()
