"""Keeping key material out of logs, transcripts and reports.

:func:`mask` does not rely on the key keeping its shape: a server under test may re-wrap a
PEM body at another width, join it with spaces, escape its newlines inside JSON (``\\n``,
``\\\\n``, ``\\/``) or split it across two MCP text contents. So it masks

- every PEM block, ``-----BEGIN … KEY-----`` to ``-----END … KEY-----`` whatever lies
  between (escaped, re-wrapped), a private-key header whose end is missing (to the end of
  its base64 body), and a private-key footer whose header is missing (back to the start of
  its base64 body);
- every piece of 15 or more base64 characters of a registered secret's body,
  found after whitespace and escapes are taken out of the text (so a 26-character piece
  re-wrapped over two lines is still found), whatever surrounds it.
"""
from __future__ import annotations

import re
from typing import Any

#: Pieces of a registered key are looked for FRAGMENT base64 characters at a time (72 bits:
#: random text never matches by chance), every STRIDE characters (for speed: a 12 MB report
#: is masked in well under a second), then widened to the whole piece: every piece of
#: FRAGMENT + STRIDE - 1 = 15 characters or more is masked wherever it appears.
FRAGMENT = 12
STRIDE = 4

_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S)
# Between base64 characters of a wrapped or escaped body: whitespace, escaped line breaks
# (any number of backslashes: JSON inside JSON inside a Python repr), escaped slashes.
_GAP = r"(?:\s|\\+[nrt]|\\+(?=/))"
_B64 = r"[A-Za-z0-9+/=]"
# A PEM block whose newlines are escaped (JSON text): header to footer.
_PEM_ESCAPED = re.compile(r"-----BEGIN [A-Z ]+-----(?:\\\\?n|[^-])*?-----END [A-Z ]+-----")
# A private-key header, then as much base64 body (wrapped, escaped) as follows it.
_PRIVATE_HEAD = re.compile(rf"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:{_GAP}|{_B64})*")
_PRIVATE_FOOT = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
_BODY_CHAR = re.compile(_B64)
_GAPS = re.compile(rf"{_GAP}+")
_RUN = re.compile(rf"{_B64}+(?:{_GAP}+{_B64}+)*")   # base64 pieces joined by gaps

_KNOWN: set[str] = set()
_GRAMS: set[str] = set()    # every FRAGMENT-long piece of every registered body


def register_secret(value: str) -> None:
    """Remember a secret (e.g. a private key read from api_client.yaml) so it is always masked,
    whole or in pieces of 15 base64 characters or more, however re-wrapped or escaped."""
    value = (value or "").strip()
    if len(value) < 16:
        return
    _KNOWN.add(value)
    body = "".join(line.strip() for line in value.splitlines() if not line.strip().startswith("-----"))
    body = "".join(_BODY_CHAR.findall(body))
    for i in range(len(body) - FRAGMENT + 1):
        _GRAMS.add(body[i:i + FRAGMENT])


def _mask_known_fragments(text: str) -> str:
    """Replace every stretch of ``text`` that, without whitespace and escapes, is a piece of a
    registered body (any piece of >= FRAGMENT + STRIDE - 1 characters is found; shorter ones
    when they happen to be aligned) by ``[MASKED]``."""
    if not _GRAMS or len(text) < FRAGMENT:
        return text
    hits: list[tuple[int, int]] = []   # spans in the original text
    for run in _RUN.finditer(text):
        if run.end() - run.start() < FRAGMENT:
            continue
        piece = run.group()
        joined = _GAPS.sub("", piece) if "\\" in piece else "".join(piece.split())
        spans: list[tuple[int, int]] = []  # in joined
        k, top = 0, len(joined) - FRAGMENT
        while k <= top:
            if joined[k:k + FRAGMENT] not in _GRAMS:
                k += STRIDE
                continue
            start = k
            while start > 0 and joined[start - 1:start - 1 + FRAGMENT] in _GRAMS:
                start -= 1
            end = k + FRAGMENT
            while end < len(joined) and joined[end + 1 - FRAGMENT:end + 1] in _GRAMS:
                end += 1
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
            k = end
        if spans:
            where: list[int] = []
            pos = run.start()
            for gap in _GAPS.finditer(text, run.start(), run.end()):
                where.extend(range(pos, gap.start()))
                pos = gap.end()
            where.extend(range(pos, run.end()))
            hits.extend((where[a], where[b - 1] + 1) for a, b in spans)
    if not hits:
        return text
    out, last = [], 0
    for a, b in hits:
        out.append(text[last:a])
        out.append("[MASKED]")
        last = b
    out.append(text[last:])
    return "".join(out)


def _mask_headless_footers(text: str) -> str:
    """A private-key footer without its header (the key split across two texts): mask the
    base64 body (wrapped, escaped) that runs up to it."""
    out, last = [], 0
    for m in _PRIVATE_FOOT.finditer(text):
        start = m.start()
        j = start
        while j > last:
            prev = text[j - 1]
            if prev.isascii() and (prev.isalnum() or prev in "+/=\\" or prev.isspace()):
                j -= 1
            else:
                break
        out.append(text[last:j])
        out.append("[MASKED PEM]")
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def mask(text: str) -> str:
    """Return ``text`` with PEM blocks and registered secrets replaced by a marker
    (``[MASKED <TYPE>]``, ``[MASKED PEM]``, ``[MASKED]``), whatever their wrapping or escaping."""
    if not text:
        return text
    text = _PEM.sub(lambda m: m.group(0).split("-----")[1].join(("[MASKED ", "]")), text)
    text = _PEM_ESCAPED.sub("[MASKED PEM]", text)
    text = _PRIVATE_HEAD.sub("[MASKED PEM]", text)
    if "-----END" in text:
        text = _mask_headless_footers(text)
    for secret in sorted(_KNOWN, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "[MASKED]")
    return _mask_known_fragments(text)


def mask_obj(obj: Any) -> Any:
    """Mask every string inside a JSON-like structure."""
    if isinstance(obj, str):
        return mask(obj)
    if isinstance(obj, dict):
        return {k: mask_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [mask_obj(v) for v in obj]
    return obj
