"""The contract's 8 prompts: templated investigation plans. They never contact Velociraptor.

Every artifact a prompt recommends is one Velociraptor 0.77.2 ships (checked against its
``artifact_definitions()``; tests/test_reference.py checks them again against the lab), so an
analyst who follows a plan never meets "artifact not found". Arguments the contract gives
no default are required: the SDK refuses a prompt request without them, naming the argument.
"""
from __future__ import annotations

from typing import Iterable

#: Artifacts per OS family that the plans draw on (all present in Velociraptor 0.77.2).
ARTIFACTS = {
    "linux": ["Generic.Client.Info", "Linux.Sys.Pslist", "Linux.Sys.Users", "Linux.Network.Netstat",
              "Linux.Sys.Crontab", "Linux.Sys.Services", "Linux.Sys.BashHistory", "Linux.Ssh.AuthorizedKeys",
              "Linux.Syslog.SSHLogin", "Linux.Detection.Yara.Process"],
    "windows": ["Generic.Client.Info", "Windows.System.Pslist", "Windows.Network.Netstat",
                "Windows.Sys.Users", "Windows.System.Services", "Windows.EventLogs.Evtx",
                "Windows.Detection.Yara.Process"],
    "macos": ["Generic.Client.Info", "MacOS.Sys.Pslist", "MacOS.Network.Netstat", "MacOS.System.Users",
              "MacOS.Detection.Autoruns", "MacOS.Detection.Yara.Process"],
}
ALL_ARTIFACTS = sorted({a for names in ARTIFACTS.values() for a in names} | {
    "Linux.Remediation.Quarantine", "Windows.Remediation.Quarantine", "MacOS.Remediation.Quarantine",
    "Generic.Detection.HashHunter", "Generic.Forensic.Timeline", "Server.Utils.CreateCollector",
})


def _bullets(names: Iterable[str]) -> str:
    return "\n".join(f"- {n}" for n in names)


def _os_family(text: str) -> str | None:
    low = text.lower()
    for family, words in (("windows", ("win",)), ("macos", ("mac", "darwin", "osx")), ("linux", ("linux",))):
        if any(w in low for w in words):
            return family
    return None


def investigate_endpoint(client_id: str) -> str:
    """A step-by-step investigation of one client."""
    return (
        f"Investigate the endpoint {client_id} with Velociraptor.\n\n"
        f"1. Confirm the machine: get_client_info(client_id=\"{client_id}\") — hostname, OS, labels, last seen.\n"
        "2. Collect a baseline with collect_artifact, choosing the artifacts of its OS:\n"
        f"   Linux:\n{_bullets(ARTIFACTS['linux'])}\n"
        f"   Windows:\n{_bullets(ARTIFACTS['windows'])}\n"
        f"   macOS:\n{_bullets(ARTIFACTS['macos'])}\n"
        "3. Follow each collection with get_flow_status until it is FINISHED, then read its rows "
        "with get_flow_results.\n"
        "4. Note anything unexpected (processes, listening ports, accounts, scheduled tasks) and "
        f"label the client (label_client) so later hunts can include or exclude {client_id}."
    )


def threat_hunt(indicators: str, hunt_type: str = "custom") -> str:
    """A hunt across the fleet for the indicators given."""
    return (
        f"Plan a {hunt_type} threat hunt for these indicators:\n{indicators}\n\n"
        "1. Classify each indicator: file hash, file name or path, domain or IP address, process name.\n"
        "2. Choose artifacts that can see them:\n"
        + _bullets(["Generic.Detection.HashHunter (file hashes)", "Linux.Network.Netstat / Windows.Network.Netstat "
                    "(addresses)", "Linux.Sys.Pslist / Windows.System.Pslist (processes)",
                    "Linux.Detection.Yara.Process / Windows.Detection.Yara.Process (patterns in memory)"]) + "\n"
        "3. Create the hunt paused (create_hunt with paused=true), limited by labels to the clients "
        "in scope; review it, then start it with modify_hunt(action=\"start\").\n"
        "4. Read the results with get_hunt_results and list every client where an indicator matched."
    )


def triage_incident(client_id: str, incident_type: str = "unknown") -> str:
    """Rapid triage of one client for a kind of incident."""
    return (
        f"Triage incident type '{incident_type}' on client {client_id}.\n\n"
        f"1. get_client_info(client_id=\"{client_id}\"): which OS, when it was last seen.\n"
        "2. Collect volatile evidence first (collect_artifact), by OS:\n"
        f"   Linux:\n{_bullets(['Linux.Sys.Pslist', 'Linux.Network.Netstat', 'Linux.Sys.Users'])}\n"
        f"   Windows:\n{_bullets(['Windows.System.Pslist', 'Windows.Network.Netstat', 'Windows.Sys.Users'])}\n"
        f"   macOS:\n{_bullets(['MacOS.Sys.Pslist', 'MacOS.Network.Netstat', 'MacOS.System.Users'])}\n"
        "3. Then persistence: Linux.Sys.Crontab, Linux.Sys.Services, Windows.System.Services, "
        "MacOS.Detection.Autoruns.\n"
        "4. If the machine must be contained, quarantine_client isolates it (Velociraptor keeps its "
        "own connection); lift it with quarantine=false when done."
    )


def malware_analysis(client_id: str, target: str) -> str:
    """Analysis of a suspicious file or process on one client."""
    return (
        f"Analyse the suspected malware {target} on client {client_id}.\n\n"
        "1. Find the process and its parent: Linux.Sys.Pslist / Windows.System.Pslist / MacOS.Sys.Pslist.\n"
        "2. Hash the file and look for the same hash elsewhere: Generic.Detection.HashHunter.\n"
        "3. Scan memory for its patterns: Linux.Detection.Yara.Process / Windows.Detection.Yara.Process.\n"
        "4. Check how it persists and whom it talks to: Linux.Sys.Crontab, Windows.System.Services, "
        "Linux.Network.Netstat, Windows.Network.Netstat.\n"
        f"5. Keep the evidence: collect the file itself before anything on {client_id} is cleaned."
    )


def lateral_movement(scope: str, timeframe: str = "24h") -> str:
    """A search for lateral movement in a scope and time frame."""
    return (
        f"Look for lateral movement in scope '{scope}' over the last {timeframe}.\n\n"
        f"1. List the clients in scope: list_clients(search=\"{scope}\") (a label is searched as 'label:NAME').\n"
        "2. Hunt remote logons and sessions: Linux.Syslog.SSHLogin, Linux.Ssh.AuthorizedKeys, "
        "Windows.EventLogs.Evtx.\n"
        "3. Hunt the connections between machines: Linux.Network.Netstat, Windows.Network.Netstat, "
        "MacOS.Network.Netstat.\n"
        "4. Correlate accounts, source addresses and times across clients; every new machine found "
        "widens the scope — label it and repeat."
    )


def rapid_ir_deployment(target_count: str, environment: str) -> str:
    """A deployment plan for an incident, sized for the endpoints given."""
    return (
        f"Deploy Velociraptor rapidly to {target_count} endpoints in a {environment} environment.\n\n"
        "1. Stand up one server sized for the fleet; give analysts API or GUI access.\n"
        "2. Push clients with the tools the environment already has (group policy, configuration "
        "management, SSH), labelled by site or role.\n"
        "3. Watch enrollment with list_clients until the count reaches the target.\n"
        "4. Start triage as machines enroll: a hunt of Generic.Client.Info, Linux.Sys.Pslist, "
        "Windows.System.Pslist and the Netstat artifacts of each OS."
    )


def deploy_and_triage(incident_type: str, affected_systems: str) -> str:
    """One plan that deploys Velociraptor and triages the affected systems."""
    return (
        f"Deploy and triage for incident type '{incident_type}' on: {affected_systems}.\n\n"
        "1. Deploy clients to the affected systems first, then to their neighbours.\n"
        "2. As each enrolls, label it (label_client) with the incident.\n"
        "3. Create a hunt limited to that label for Generic.Client.Info, Linux.Sys.Pslist, "
        "Windows.System.Pslist, Linux.Network.Netstat and Windows.Network.Netstat.\n"
        "4. Contain confirmed compromises with quarantine_client; keep collecting while contained."
    )


def offline_collection_kit(target_os: str, collection_type: str = "triage") -> str:
    """A plan for a self-contained (offline) collector for one OS."""
    family = _os_family(target_os)
    names = ARTIFACTS.get(family or "", ARTIFACTS["linux"])
    return (
        f"Build an offline collection kit for {target_os} ({collection_type} collection).\n\n"
        "1. Build the collector on the server with the Server.Utils.CreateCollector artifact, for "
        f"{target_os}.\n"
        f"2. Include these artifacts:\n{_bullets(names)}\n"
        "3. Encrypt the output, copy the collector to removable media, run it on the machine as an "
        "administrator, and bring the archive back.\n"
        "4. Import the archive into Velociraptor and read it like any other collection."
    )


PROMPTS = {
    f.__name__: f for f in (investigate_endpoint, threat_hunt, triage_incident, malware_analysis, lateral_movement,
                            rapid_ir_deployment, deploy_and_triage, offline_collection_kit)
}
