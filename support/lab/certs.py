"""Certificate monitor: fail early, with a regeneration hint, when a lab's certs are expiring.

Reads every PEM certificate of the lab in use (server config and api_client.yaml for
embedded/docker labs, api_client.yaml alone for external ones).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

REGEN_HINT = {
    "embedded": "Embedded and docker labs make fresh certificates every run: start a new lab "
                "(`python -m support.lab down && python -m support.lab up`).",
    "docker": "Embedded and docker labs make fresh certificates every run: rerun the suite.",
    "external": "Re-issue them on your server: `velociraptor --config server.config.yaml config "
                "reissue_certs --validity 365` for the server, and a new api_client.yaml with "
                "`velociraptor --config server.config.yaml config api_client --name NAME --role administrator OUT.yaml`.",
}


from support.errors import CertificateProblem  # noqa: E402,F401 (re-exported)


@dataclass(frozen=True)
class CertStatus:
    name: str
    subject: str
    not_after: dt.datetime
    days_left: float


def inspect(name: str, pem: str, now: dt.datetime | None = None) -> CertStatus:
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise CertificateProblem(f"certificate {name!r} cannot be read: {exc}") from None
    not_after = cert.not_valid_after_utc
    return CertStatus(name, cert.subject.rfc4514_string(), not_after, (not_after - now).total_seconds() / 86400)


def check(certs: dict[str, str], *, min_days: float, mode: str, now: dt.datetime | None = None) -> list[CertStatus]:
    """Return the status of each cert; raise :class:`CertificateProblem` naming every bad one."""
    statuses = [inspect(name, pem, now) for name, pem in certs.items() if pem]
    bad = [s for s in statuses if s.days_left < min_days]
    if bad:
        lines = [
            f"  {s.name} ({s.subject}): "
            + (f"EXPIRED on {s.not_after:%Y-%m-%d}" if s.days_left < 0 else
               f"expires on {s.not_after:%Y-%m-%d}, in {s.days_left:.1f} days (minimum {min_days:g})")
            for s in bad
        ]
        raise CertificateProblem(
            "Lab certificates need renewal:\n" + "\n".join(lines) + "\nHint: " + REGEN_HINT.get(mode, REGEN_HINT["external"])
            + "\n(The threshold is --cert-min-days.)")
    return statuses
