"""Hunts, made and read directly in Velociraptor: the Givens' side of the hunt features.

A Given makes its hunt here (never through the server under test), records it in the
scenario's ledger, and a Then finds it again by its description — every hunt the suite makes
carries ``raptorspec-<run>-…`` in its description, so even a hunt whose id a server forgot
to report can be found, checked and removed. Env names carry an ``Rs`` prefix so that they
shadow nothing in VQL.

Velociraptor 0.77.2 facts these helpers rely on (measured on the embedded lab):
``hunt(pause=TRUE)`` makes a PAUSED hunt; ``hunt_update(start=TRUE)`` sets it RUNNING and
offers it to connected clients at once (client flow ``F.<id>.H``); ``hunt_update(stop=TRUE)``
sets STOPPED; archiving changes nothing (hunt_manager/mutations.go: "we no longer archive
hunts - they must be deleted"); ``hunt_delete(really_do_it=TRUE)`` removes the hunt and its flows.

(PYTEST_DONT_REWRITE: the asserts here carry their own messages.)
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

from support import rows, waits


@dataclass(frozen=True)
class Hunt:
    """A hunt a Given made: its id, its description and the labels it is limited to."""

    hunt_id: str
    description: str
    artifacts: tuple[str, ...]
    labels: tuple[str, ...] = ()

    @property
    def client_flow_id(self) -> str:
        return client_flow_id(self.hunt_id)


def namer(ledger: Any) -> Callable[[str], str]:
    """Names for one scenario: ``word`` -> ``raptorspec-<run>-<word>-<token>``, the token fixed
    per scenario so that a word names the same hunt in every step, and no leftover of an
    earlier scenario answers to it."""
    token = uuid.uuid4().hex[:6]
    return lambda word: ledger.name(f"{word}-{token}")


def client_flow_id(hunt_id: str) -> str:
    """The id of the flow a hunt starts on each client: hunt H.X runs as flow F.X.H."""
    return f"F.{hunt_id.removeprefix('H.')}.H"


def create(oracle: Any, artifacts: list[str], description: str, *, include_labels: list[str] | None = None,
           expires_s: int = 3600) -> str:
    """Create a PAUSED hunt; return its id."""
    return oracle.create_hunt(artifacts, description, include_labels=include_labels, expires_s=expires_s)


def wait_state(oracle: Any, hunt_id: str, state: str, *, lab: Any = None, timeout: float = 30) -> dict[str, Any]:
    """Hunt mutations reach hunts() through Velociraptor's journal: wait (bounded) until they do."""
    return waits.wait_hunt(oracle, hunt_id, lambda row: row.get("state") == state, f"state {state}",
                           timeout, lab=lab)


def described(oracle: Any, description: str) -> list[dict[str, Any]]:
    """Every hunt Velociraptor holds with exactly this description."""
    return [h for h in oracle.hunts() if h.get("hunt_description") == description]


def the_one_described(oracle: Any, description: str) -> dict[str, Any]:
    """The single hunt with this description; fail saying how many Velociraptor shows."""
    rows = described(oracle, description)
    assert len(rows) == 1, (
        f"Velociraptor shows {len(rows)} hunt(s) described {description!r} (expected exactly one): "
        f"{[(h.get('hunt_id'), h.get('state')) for h in rows]}")
    return rows[0]


def state(row: dict[str, Any] | None) -> str:
    """A hunts() row's state (PAUSED, RUNNING, STOPPED …; "" for no row)."""
    return str((row or {}).get("state") or "")


def states(rows: list[dict[str, Any]]) -> dict[str, str]:
    """hunt id -> state, for hunts() rows."""
    return {r["hunt_id"]: r.get("state") for r in rows}


def artifacts(row: dict[str, Any] | None) -> list[str]:
    """The artifacts a hunts() row collects."""
    return list((row or {}).get("artifacts") or [])


def description(row: dict[str, Any] | None) -> str:
    """A hunts() row's description."""
    return str((row or {}).get("hunt_description") or "")


def id_described(oracle: Any, description: str) -> str:
    """The id of the single hunt with this description (see :func:`the_one_described`)."""
    return the_one_described(oracle, description)["hunt_id"]


def ids(rows: list[dict[str, Any]]) -> list[str]:
    """The hunt ids of hunts() rows."""
    return [r["hunt_id"] for r in rows]


def include_labels(row: dict[str, Any]) -> list[str]:
    """The labels a hunts() row is limited to (its ``condition.labels.label``)."""
    cond = row.get("condition") or {}
    return list(((cond.get("labels") or {}).get("label")) or [])


def results(oracle: Any, hunt_id: str, artifact: str | None = None) -> list[dict[str, Any]]:
    """Velociraptor's own rows of a hunt (``hunt_results``), for one artifact/source or its default."""
    return oracle.hunt_results(hunt_id, artifact)


def results_by_source(oracle: Any, hunt: Hunt, asked: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Velociraptor's results of ``hunt`` for what a scenario asked for, source by source:
    the artifact or ``Artifact/Source`` named in ``asked``, else every artifact of the hunt.
    A multi-source artifact is read source by source (its bare name holds no results)."""
    return oracle.hunt_results_by_source(hunt.hunt_id, [asked] if asked else hunt.artifacts)


def no_results(hunt: Hunt, by_source: dict[str, list[dict[str, Any]]]) -> str | None:
    """None when Velociraptor holds rows in some source; else a sentence saying it holds none,
    naming every source looked at."""
    if any(by_source.values()):
        return None
    return (f"Velociraptor holds no results of hunt {hunt.hunt_id} in any source looked at "
            f"({', '.join(by_source) or 'none'}): nothing to compare")


def truth_for(sut_rows: Any, by_source: dict[str, list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    """The rows a server's answer is held to: one source's rows when the scenario named one
    source (or the artifact has one); else the source whose rows share the most columns with
    the answer (a server asked for a multi-source artifact may return any one of them).
    Returns (source name, its rows)."""
    filled = {name: rows for name, rows in by_source.items() if rows} or by_source
    if len(filled) == 1:
        return next(iter(filled.items()))
    theirs = {k for r in sut_rows or [] if isinstance(r, dict) for k in r}

    def overlap(item: tuple[str, list[dict[str, Any]]]) -> int:
        return len(theirs & {k for r in item[1] for k in r})

    return max(filled.items(), key=overlap)


def wait_finished_on(oracle: Any, hunt: Hunt, client_id: str, *, lab: Any = None, timeout: float = 120
                     ) -> dict[str, list[dict[str, Any]]]:
    """Wait until a started hunt's flow on ``client_id`` is done and the hunt counts it; return
    Velociraptor's results of the hunt, source by source (:func:`results_by_source`)."""
    flow = waits.wait_flow_done(oracle, client_id, hunt.client_flow_id, timeout, lab=lab)
    assert flow.get("state") == "FINISHED", (
        f"the hunt's collection {hunt.client_flow_id} on {client_id} ended {flow.get('state')}: {flow.get('status')!r}")
    waits.wait_hunt(oracle, hunt.hunt_id, lambda r: (r.get("stats") or {}).get("total_finished_clients", 0) >= 1,
                    f"Velociraptor to count {client_id} as finished", timeout, lab=lab)
    return results_by_source(oracle, hunt)


def scope_to(oracle: Any, ledger: Any, client_id: str, label: str) -> str:
    """Label the client (recorded in ``ledger``) so that a hunt limited to ``label`` reaches it alone."""
    ledger.label(client_id, label, "the Given that scoped a hunt to the client")
    oracle.label(client_id, [label], "set")
    return label


def make(oracle: Any, ledger: Any, artifact: str | list[str], description: str, *, state: str = "PAUSED",
         labels: list[str] | tuple[str, ...] = (), lab: Any = None) -> Hunt:
    """Create a hunt in ``state`` (PAUSED, RUNNING or STOPPED), recorded in ``ledger`` at once.
    ``artifact``: one artifact name, or a list of them (the hunt collects each)."""
    names = [artifact] if isinstance(artifact, str) else list(artifact)
    hunt_id = create(oracle, names, description, include_labels=list(labels))
    ledger.hunt(hunt_id, f"the Given that made hunt {description!r}")
    if state in ("RUNNING", "STOPPED"):
        oracle.start_hunt(hunt_id)
        wait_state(oracle, hunt_id, "RUNNING", lab=lab)
    if state == "STOPPED":
        oracle.stop_hunt(hunt_id)
        wait_state(oracle, hunt_id, "STOPPED", lab=lab)
    return Hunt(hunt_id, description, tuple(names), tuple(labels))


# -- reading what a server under test lists ---------------------------------------------

_STATE_KEYS = ("state", "State", "hunt_state")


def listed(listed_rows: list[Any] | None) -> dict[str, str]:
    """Hunt id -> state, as a server under test listed them (whatever its key names)."""
    out: dict[str, str] = {}
    for row in listed_rows or []:
        if not isinstance(row, dict):
            continue
        hunt_id = rows.ident(row, "hunt")
        if hunt_id:
            out[hunt_id] = str(next((row[k] for k in _STATE_KEYS if row.get(k) is not None), ""))
    return out


def result_columns(oracle_rows: list[dict[str, Any]], volatile: frozenset[str]) -> list[str]:
    """The columns a hunt's results are compared on: Velociraptor's own, minus volatile and
    internal (``_``-prefixed) ones."""
    cols = {k for r in oracle_rows for k in r}
    return sorted(c for c in cols if c not in volatile and not c.startswith("_"))


# -- states held, hunts in numbers (issue 10 §3, §4) ---------------------------------------

#: Seconds a Then watches a hunt that must not change: a hunt mutation reaches hunts()
#: through Velociraptor's journal within about a second on the embedded lab.
HOLD = 4.0


def stays(oracle: Any, hunt_id: str, wanted: str, seconds: float = HOLD, *, lab: Any = None) -> str | None:
    """Watch the hunt for ``seconds``; None when hunts() showed it in ``wanted`` throughout,
    else a sentence naming the state it took (or that it disappeared)."""
    def changed() -> tuple[bool, Any]:
        row = oracle.hunt(hunt_id)
        return (row is None or state(row) != wanted), (state(row) if row else "no such hunt")

    try:
        seen = waits.wait_for(changed, f"hunt {hunt_id} to leave {wanted}", seconds, 0.5,
                              alive=getattr(lab, "alive", None))
    except waits.WaitTimeout:
        return None
    return f"Velociraptor shows hunt {hunt_id} {seen}, not {wanted}"


def make_many(oracle: Any, ledger: Any, artifact: str, descriptions: list[str], *, state: str = "PAUSED",
              labels: list[str] | tuple[str, ...] = (), lab: Any = None) -> list[Hunt]:
    """Make one hunt per description, in order (the last is the newest), each in ``state``."""
    return [make(oracle, ledger, artifact, d, state=state, labels=labels, lab=lab) for d in descriptions]


# -- what a hunt was created with (issue 10 §1: every argument of create_hunt) ------------

#: The OS words of create_hunt's os_filter → the name Velociraptor 0.77.2 keeps in a hunt's
#: ``condition.os.os`` (api/proto/hunts.proto HuntOsCondition: ALL, WINDOWS, LINUX, OSX).
OS_CONDITION = {"windows": "WINDOWS", "linux": "LINUX", "darwin": "OSX"}


def full(oracle: Any, hunt_id: str) -> dict[str, Any]:
    """The hunt's full record (``hunts(hunt_id=…)``). A listing's rows carry only a summary of
    the hunt's request (``start_request.summary`` true: no specs, timeout 0, measured on
    0.77.2), so a request-level check reads this one."""
    row = oracle.hunt(hunt_id)
    assert row is not None, f"Velociraptor has no hunt {hunt_id}"
    return row


def excluded_labels(row: dict[str, Any]) -> list[str]:
    """The labels a hunts() row leaves out (its ``condition.excluded_labels.label``)."""
    cond = row.get("condition") or {}
    return list(((cond.get("excluded_labels") or {}).get("label")) or [])


def os_condition(row: dict[str, Any]) -> str:
    """The OS a hunts() row is limited to (``condition.os.os``: WINDOWS, LINUX, OSX; "" for none)."""
    cond = row.get("condition") or {}
    return str(((cond.get("os") or {}).get("os")) or "")


def timeout(row: dict[str, Any]) -> int | None:
    """Seconds each client may spend on the hunt (``start_request.timeout``); None when unset."""
    value = (row.get("start_request") or {}).get("timeout")
    return int(value) if value not in (None, "") else None


def parameters(row: dict[str, Any], artifact: str | None = None) -> dict[str, str]:
    """The parameters the hunt passes (to ``artifact`` only, when given), as text: its
    ``start_request.specs``, read like a collection's request."""
    from support import flows
    return flows.parameters({"request": row.get("start_request") or {}}, artifact)


def epoch_seconds(value: Any) -> float | None:
    """A hunts() time (``create_time``, ``expires``) in seconds since the epoch. Velociraptor
    keeps them as microseconds (api/proto/hunts.proto: uint64 … in microseconds); a value in
    milliseconds or seconds is read by its size. None for no value (0 or missing)."""
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    if n <= 0:
        return None
    if n > 1e14:
        return n / 1e6
    if n > 1e11:
        return n / 1e3
    return n


def lifetime_hours(row: dict[str, Any]) -> float | None:
    """Hours from the hunt's creation to its expiry (``expires - create_time``); None when
    either is missing."""
    created, expires = epoch_seconds(row.get("create_time")), epoch_seconds(row.get("expires"))
    if created is None or expires is None:
        return None
    return (expires - created) / 3600


def row_count(by_source: dict[str, list[dict[str, Any]]]) -> int:
    """The number of rows Velociraptor holds over every source of ``by_source``."""
    return sum(len(r) for r in by_source.values())
