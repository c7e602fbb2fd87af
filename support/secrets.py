"""Keeping key material out of logs, transcripts and reports."""
from __future__ import annotations

import re
from typing import Any

_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S)
# A PEM body may also travel with escaped newlines inside JSON text.
_PEM_ESCAPED = re.compile(r"-----BEGIN [A-Z ]+-----(?:\\\\?n|[^-])*?-----END [A-Z ]+-----")
_KNOWN: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret (e.g. a private key read from api_client.yaml) so it is always masked."""
    value = (value or "").strip()
    if len(value) >= 16:
        _KNOWN.add(value)
        # its body lines, which may appear alone in a wrapped or escaped form
        for line in value.splitlines():
            line = line.strip()
            if len(line) >= 40 and not line.startswith("-----"):
                _KNOWN.add(line)


def mask(text: str) -> str:
    """Return ``text`` with PEM blocks and registered secrets replaced by a marker."""
    if not text:
        return text
    text = _PEM.sub(lambda m: m.group(0).split("-----")[1].join(("[MASKED ", "]")), text)
    text = _PEM_ESCAPED.sub("[MASKED PEM]", text)
    for secret in sorted(_KNOWN, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "[MASKED]")
    return text


def mask_obj(obj: Any) -> Any:
    """Mask every string inside a JSON-like structure."""
    if isinstance(obj, str):
        return mask(obj)
    if isinstance(obj, dict):
        return {k: mask_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [mask_obj(v) for v in obj]
    return obj
