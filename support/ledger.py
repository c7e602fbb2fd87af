"""The cleanup ledger: what a scenario made in Velociraptor, and how it is taken away again.

Everything a scenario creates carries the run's namespace (``raptorspec-<run_id>-<word>``,
see :meth:`Ledger.name`). A :class:`Ledger` lives for one scenario: Givens record what they
make, and :meth:`Ledger.calling` wraps each call to the server under test so that whatever
*it* made is recorded too — the flow or hunt id it reported, and, as a fallback, the flows,
labels, hunts and phantom client records that appeared in Velociraptor across the call.
:meth:`Ledger.clean` removes everything through the oracle: hunts (stopped, then deleted —
archiving does nothing in Velociraptor 0.77), flows (cancelled if still running, then
deleted), labels (removed), and client records a call conjured for an id that never enrolled.

A :class:`Book` collects every scenario's ledger for the session; :meth:`Book.audit` asks
Velociraptor for anything still carrying the run's namespace or still present though
recorded, and names each leftover.

**Parallel runs (pytest-xdist).** The run id is shared by all workers; a worker's ledgers
name things ``raptorspec-<run_id>-<worker>-<word>`` (``gw0``, ``gw1``…) and make phantom
client ids with the worker's number in them (:meth:`Ledger.client_id`), so two workers running the
same scenario for two SUTs never touch each other's entities; what appears in Velociraptor
during a call is recorded only if it is not another worker's (a label or hunt description in
another worker's namespace is not; a flow or hunt must carry this worker's API identity as its
creator — each worker has its own on an embedded or docker lab; on an external lab, where all
share the user's, a flow found only that way is left to the controller, which removes it
after the last worker: it may be another worker's, still in use). Each worker appends every
entry it records to its journal (``<lab dir>/ledgers/<worker>.jsonl``, one JSON object a
line, written at once so a worker that crashes loses nothing it recorded); no worker audits.
After the last worker has ended, the controller runs the one audit of the run over the
union of the journals plus everything carrying ``raptorspec-<run_id>`` (so it sees every
worker's leftovers, and no worker's live entity can be taken for a leak: none is live any
more); leftovers fail the run (exit status 1) and are named in the terminal summary.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import pytest

from support.errors import LeftBehind, VQLError  # noqa: F401 (LeftBehind re-exported)
from support.lab.interrupts import velociraptor_cleanup
from support.oracle import FLOW_DONE  # noqa: F401 (re-exported)


class _Oracle(Protocol):  # what the ledger needs of support.oracle.Oracle
    def client(self, client_id: str) -> dict[str, Any] | None: ...
    def clients(self, search: str = "all") -> list[dict[str, Any]]: ...
    def label(self, client_id: str, labels: list[str], op: str) -> None: ...
    def delete_client(self, client_id: str) -> None: ...
    def flows(self, client_id: str) -> list[dict[str, Any]]: ...
    def flow(self, client_id: str, flow_id: str) -> dict[str, Any] | None: ...
    def cancel_flow(self, client_id: str, flow_id: str) -> None: ...
    def delete_flow(self, client_id: str, flow_id: str) -> None: ...
    def hunts(self) -> list[dict[str, Any]]: ...
    def hunt(self, hunt_id: str) -> dict[str, Any] | None: ...
    def stop_hunt(self, hunt_id: str) -> None: ...
    def delete_hunt(self, hunt_id: str) -> None: ...


#: The ``why`` of what the lab came to hold during the run that no scenario recorded.
UNRECORDED = "recorded by no scenario: the lab did not hold it before the run"


def lab_baseline(oracle: Any) -> dict[str, Any]:
    """What a lab holds now, for the audit's before/after comparison (:attr:`Book.before`):
    ``{"labels": {client_id: [label, …] (lower case)}, "hunts": [hunt_id, …]}``."""
    return {"labels": {c["client_id"]: sorted({str(l).lower() for l in c.get("labels") or []})
                       for c in oracle.clients()},
            "hunts": sorted(h["hunt_id"] for h in oracle.hunts())}


#: The end of an entry's ``why`` when the before/after diff of a call found it.
APPEARED = "appeared during a call"

#: Tools whose calls may make anything (VQL can collect, hunt and label).
ANY_EFFECT = frozenset({"run_vql"})


def unasked_effects(tool: str, kwargs: dict[str, Any], result: Any, appeared: list["Entry"]) -> list["Entry"]:
    """What appeared in Velociraptor during one call of canonical ``tool`` that the call did not
    ask for (contracts/megaraptor-mcp-tools.md): ``label_client`` makes the labels it is given
    (``operation`` "add") on its client; ``collect_artifact`` one flow, the one its reply names;
    ``create_hunt`` one hunt, the one its reply names; ``quarantine_client`` its collection and
    Velociraptor's ``Quarantine`` label; ``run_vql`` anything; every other tool nothing. A
    server that labels, collects or hunts beyond the request passed while the ledger quietly
    removed the extra entities. Client records (phantoms) are left to the scenarios' Thens, and a
    deferred flow (workers sharing one API user, see :attr:`Ledger.defer`) is not judged."""
    if tool in ANY_EFFECT:
        return []
    out: list[Entry] = []
    named_flow, named_hunt = getattr(result, "flow_id", None), getattr(result, "hunt_id", None)
    flows_seen = hunts_seen = 0
    for e in appeared:
        if e.deferred:   # a flow that may be another xdist worker's (one API user shared): not ours to judge
            continue
        if e.kind == "label":
            asked = {str(x).lower() for x in (kwargs.get("labels") or [])}
            if tool == "label_client" and (kwargs.get("operation") or "add") == "add" and e.ident.lower() in asked:
                continue
            if tool == "quarantine_client" and e.ident.lower() == "quarantine":
                continue
        elif e.kind == "flow":
            if tool == "quarantine_client":
                continue
            if tool == "collect_artifact":
                flows_seen += 1
                if (e.ident == named_flow) if named_flow else flows_seen == 1:
                    continue
        elif e.kind == "hunt":
            if tool == "create_hunt":
                hunts_seen += 1
                if (e.ident == named_hunt) if named_hunt else hunts_seen == 1:
                    continue
        else:
            continue
        out.append(e)
    return out


def _effect(e: "Entry") -> str:
    where = f" on {e.client_id}" if e.client_id else ""
    return f"a {e.kind} {e.ident!r}{where} it did not ask for"


@dataclass(frozen=True)
class Entry:
    kind: str            # "label" | "flow" | "hunt" | "phantom"
    client_id: str = ""
    ident: str = ""      # the label, flow id or hunt id
    why: str = ""        # who made it (a Given, the SUT's reply, a before/after diff)
    deferred: bool = False  # removed by the run's end (the controller), not the scenario's: see Ledger.defer

    def __str__(self) -> str:
        where = f" on {self.client_id}" if self.client_id and self.kind != "phantom" else ""
        what = {"phantom": f"client record {self.client_id}"}.get(self.kind, f"{self.kind} {self.ident!r}{where}")
        if self.why == UNRECORDED:
            return f"{what} ({self.why})"
        return f"{what} (recorded from {self.why})" if self.why else what


# --------------------------------------------------------------------------------------
# making and removing, through the oracle's methods (the VQL is written there)


def add_label(oracle: _Oracle, client_id: str, label: str, ledger: "Ledger", why: str = "a step") -> None:
    """Put ``label`` on a client, recorded first (an unknown id becomes a recorded client record)."""
    if oracle.client(client_id) is None:
        ledger.phantom(client_id, f"{why} that labelled an unknown client id")
    ledger.label(client_id, label, why)
    oracle.label(client_id, [label], "set")


def remove_label(oracle: _Oracle, client_id: str, label: str) -> None:
    oracle.label(client_id, [label], "remove")


def delete_flow(oracle: _Oracle, client_id: str, flow_id: str) -> None:
    """Cancel a flow that is still running, then delete it (gone already: nothing to do)."""
    row = oracle.flow(client_id, flow_id)
    if row is None:
        return
    if row.get("state") not in FLOW_DONE:
        oracle.cancel_flow(client_id, flow_id)
    _tolerant(oracle.delete_flow, client_id, flow_id)


def delete_hunt(oracle: _Oracle, hunt_id: str) -> None:
    """Stop a hunt, then delete it (gone already: nothing to do)."""
    if oracle.hunt(hunt_id) is None:
        return
    oracle.stop_hunt(hunt_id)
    _tolerant(oracle.delete_hunt, hunt_id)


def delete_phantom(oracle: _Oracle, client_id: str) -> None:
    """Delete a client record only if no client ever enrolled under that id."""
    row = oracle.client(client_id)
    if row and not row.get("first_seen_at") and not row.get("last_seen_at"):
        _tolerant(oracle.delete_client, client_id)


def _tolerant(remove: Any, *args: str) -> None:
    """Deletion plugins log an error for each file that was never written (e.g. uploads.json of
    a flow without uploads); whether the thing is gone is checked afterwards, not here."""
    try:
        remove(*args)
    except VQLError:
        pass


def still_there(oracle: _Oracle, e: Entry) -> bool:
    if e.kind == "label":
        row = oracle.client(e.client_id)
        return bool(row) and e.ident.lower() in {str(l).lower() for l in row.get("labels") or []}
    if e.kind == "flow":
        return oracle.flow(e.client_id, e.ident) is not None
    if e.kind == "hunt":
        return oracle.hunt(e.ident) is not None
    row = oracle.client(e.client_id)
    return bool(row) and not row.get("first_seen_at") and not row.get("last_seen_at")


_REMOVERS = {
    "hunt": lambda o, e: delete_hunt(o, e.ident),
    "flow": lambda o, e: delete_flow(o, e.client_id, e.ident),
    "label": lambda o, e: remove_label(o, e.client_id, e.ident),
    "phantom": lambda o, e: delete_phantom(o, e.client_id),
}
_ORDER = ("hunt", "flow", "label", "phantom")  # hunts first: they start flows


def remove_all(oracle: _Oracle, entries: list[Entry]) -> list[str]:
    """Remove ``entries``; return a line per entry that could not be removed (with why)."""
    problems = []
    for kind in _ORDER:
        for e in (x for x in entries if x.kind == kind):
            try:
                _REMOVERS[kind](oracle, e)
                if still_there(oracle, e):
                    problems.append(f"{e}: still present after removal")
            except Exception as exc:  # noqa: BLE001 - every entry gets its try; all are reported
                problems.append(f"{e}: removal failed: {type(exc).__name__}: {exc}")
    return problems


# --------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What one scenario created. Record with the methods below; :meth:`clean` at teardown."""

    oracle: _Oracle
    run_id: str
    creator: str | None = None  # the API user the SUTs act as; others' flows and hunts are never taken
    entries: list[Entry] = field(default_factory=list)
    #: Every call made through :meth:`calling`: (canonical tool, its canonical arguments).
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: The xdist worker ("gw0", …) or "" in a serial run: part of every name this ledger makes.
    worker: str = ""
    #: Called with each new entry (the worker's journal); None: nothing is written.
    on_record: Callable[[Entry], None] | None = None
    #: A flow found only by the before/after diff is not removed by this scenario but at the
    #: run's end: set for an xdist worker sharing its API identity with the others (an external
    #: lab), where such a flow may be another worker's, still in use.
    defer: bool = False

    def ours(self, creator: Any) -> bool:
        """Whether a flow's or hunt's ``creator`` is the API user this ledger's SUTs act as (always
        True when that user is not known)."""
        return self.creator is None or creator == self.creator

    def _foreign(self, name: Any) -> bool:
        """A label or hunt description in another xdist worker's namespace (never ours to take)."""
        text = str(name or "").lower()
        run = f"raptorspec-{self.run_id}-gw".lower()
        return bool(self.worker) and run in text and f"{self.namespace}-".lower() not in text

    def foreign_label(self, label: Any) -> bool:
        """True for a label in a Raptorspec namespace that is not this ledger's (``raptorspec-…``
        of another xdist worker, or of another run on the same lab): one that another process
        may add or remove at any moment, so a check of "the labels Velociraptor shows" leaves
        it out on both sides (a ``-n 2`` run failed "the details leave out [the other worker's
        label]", added between the reply and the check)."""
        text = str(label or "").lower()
        return text.startswith("raptorspec-") and not text.startswith(f"{self.namespace}-".lower())

    @property
    def namespace(self) -> str:
        """``raptorspec-<run>`` in a serial run, ``raptorspec-<run>-<worker>`` in an xdist worker."""
        return f"raptorspec-{self.run_id}" + (f"-{self.worker}" if self.worker else "")

    def name(self, word: str) -> str:
        """The namespaced form of an analyst's word: ``raptorspec-<run>[-<worker>]-<word>``."""
        return f"{self.namespace}-{word}"

    def client_id(self, n: int) -> str:
        """A client id no client has, for the ``n``-th phantom of a scenario (``0 <= n < 2**24``):
        ``C.<run_id><worker number, 2 hex><n, 6 hex>`` (16 hex digits, the form of a real id;
        the worker number is 0 in a serial run), so parallel workers never make the same one."""
        if not 0 <= n < 1 << 24:
            raise ValueError(f"phantom client number out of range: {n}")
        return f"C.{self.run_id}{worker_number(self.worker):02x}{n:06x}"

    def _add(self, entry: Entry) -> None:
        key = (entry.kind, entry.client_id, entry.ident)
        held = next((i for i, x in enumerate(self.entries) if (x.kind, x.client_id, x.ident) == key), None)
        if held is not None and self.entries[held].deferred and not entry.deferred:
            self.entries[held] = entry          # claimed for sure after all (e.g. named by the reply)
            if self.on_record is not None:
                self.on_record(entry)
        elif (entry.ident or entry.kind == "phantom") and held is None:
            self.entries.append(entry)
            if self.on_record is not None:
                self.on_record(entry)

    def label(self, client_id: str, label: str, why: str = "a step") -> None:
        self._add(Entry("label", client_id, label, why))

    def flow(self, client_id: str, flow_id: str | None, why: str = "a step", *, deferred: bool = False) -> None:
        self._add(Entry("flow", client_id, flow_id or "", why, deferred))

    def hunt(self, hunt_id: str | None, why: str = "a step") -> None:
        self._add(Entry("hunt", "", hunt_id or "", why))

    def phantom(self, client_id: str, why: str = "a step") -> None:
        self._add(Entry("phantom", client_id, "", why))

    @contextmanager
    def watching(self, client_id: str | None = None, *, hunts: bool = True) -> Iterator[None]:
        """Record what appears in Velociraptor while the body runs: new flows, labels and a
        phantom record of ``client_id``, and new hunts (the fallback when a reply names nothing)."""
        before = self._snapshot(client_id, hunts)
        before_flows = {f.get("session_id") for f in before["flows"]}
        before_hunts = {h.get("hunt_id") for h in before["hunts"]}
        try:
            yield
        finally:
            after = self._snapshot(client_id, hunts)
            if client_id:
                self._diff_client(client_id, before["client"], before_flows, after)
            for h in after["hunts"]:
                if (h.get("hunt_id") not in before_hunts and self.ours(h.get("creator"))
                        and not self._foreign(h.get("hunt_description"))):
                    self.hunt(h.get("hunt_id"), f"a hunt that {APPEARED}")

    def _snapshot(self, client_id: str | None, hunts: bool) -> dict[str, Any]:
        """``{"client", "flows", "hunts"}`` now: one query through the oracle's
        :meth:`~support.oracle.Oracle.snapshot` when it has one, else three (test doubles)."""
        snapshot = getattr(self.oracle, "snapshot", None)
        if snapshot is not None:
            return snapshot(client_id, hunts=hunts)
        client = self.oracle.client(client_id) if client_id else None
        return {"client": client, "flows": self.oracle.flows(client_id) if client else [],
                "hunts": self.oracle.hunts() if hunts else []}

    def _diff_client(self, client_id: str, before: dict[str, Any] | None, before_flows: set[str],
                     after_snapshot: dict[str, Any]) -> None:
        after = after_snapshot["client"]
        if after is None:
            return
        if before is None:
            self.phantom(client_id, "a client record that appeared during a call")
        old = {str(l).lower() for l in (before or {}).get("labels") or []}
        for label in after.get("labels") or []:
            if str(label).lower() not in old and not self._foreign(label):
                self.label(client_id, label, f"a label that {APPEARED}")
        for f in after_snapshot["flows"]:
            if f.get("session_id") not in before_flows and self.ours((f.get("request") or {}).get("creator")):
                self.flow(client_id, f.get("session_id"), f"a flow that {APPEARED}", deferred=self.defer)

    def observe(self, call: Any, tool: str, kwargs: dict[str, Any]) -> Any:
        """Run one SUT call (``call(tool, **kwargs)``) and record what it made: flows and hunts
        its reply names, and labels, flows and hunts that appeared in Velociraptor during it.
        Set as the ``sut`` fixture's observer, so every ``sut.call`` of a scenario comes here."""
        client_id = kwargs.get("client_id") if isinstance(kwargs.get("client_id"), str) else None
        self.calls.append((tool, dict(kwargs)))
        held = set(self.entries)
        with self.watching(client_id):
            result = call(tool, **kwargs)
        appeared = [e for e in self.entries if e not in held and e.why.endswith(APPEARED)]
        if getattr(result, "flow_id", None):
            self.flow(client_id or "", result.flow_id, f"the reply of {tool}")
        if getattr(result, "hunt_id", None):
            self.hunt(result.hunt_id, f"the reply of {tool}")
        self._confirm_claims(tool, client_id, result)
        unasked = unasked_effects(tool, kwargs, result, appeared)
        if unasked:
            from support.errors import UnaskedEffect

            raise UnaskedEffect(
                f"The server under test did what the call did not ask for: during {tool}("
                + ", ".join(f"{k}={v!r}" for k, v in kwargs.items() if v is not None)
                + ") Velociraptor shows " + "; ".join(_effect(e) for e in unasked)
                + " (recorded, and removed with the scenario's cleanup)")
        return result

    def _confirm_claims(self, tool: str, client_id: str | None, result: Any) -> None:
        """A successful reply of ``collect_artifact`` or ``create_hunt`` that names a flow or hunt
        Velociraptor does not have fails the call (:class:`support.errors.UnconfirmedClaim`): a
        server that answers "started" with a made-up id for a client id holding VQL passed the
        scenarios that only ask Velociraptor whether anything started. Velociraptor makes both
        before its query returns (``collect_client()``, ``hunt()``), so there is nothing to wait for."""
        if not getattr(result, "ok", False) or self.oracle is None:
            return
        flow_id, hunt_id = getattr(result, "flow_id", None), getattr(result, "hunt_id", None)
        missing = ""
        if tool == "collect_artifact" and flow_id and (not client_id or self.oracle.flow(client_id, flow_id) is None):
            missing = f"flow {flow_id!r} on {client_id!r}"
        elif tool == "create_hunt" and hunt_id and self.oracle.hunt(hunt_id) is None:
            missing = f"hunt {hunt_id!r}"
        if missing:
            from support.errors import UnconfirmedClaim

            raise UnconfirmedClaim(f"The server under test answered {tool} with success naming {missing}; "
                                   f"Velociraptor has no such {missing.split()[0]}")

    def calling(self, sut: Any, tool: str, **kwargs: Any) -> Any:
        """``sut.call(tool, **kwargs)``, observed by this ledger even where the SUT handle has
        no observer (kept for steps written before ``sut.call`` was the one entry)."""
        if getattr(sut, "observer", None) is not None:
            return sut.call(tool, **kwargs)
        return self.observe(lambda t, **kw: sut.call(t, **kw), tool, kwargs)

    def sent(self, tool: str) -> dict[str, Any]:
        """The canonical arguments of the last call of ``tool`` made through :meth:`calling`
        ({} when none was made): what the scenario asked for, for a Then to hold the answer to."""
        return next((dict(kw) for t, kw in reversed(self.calls) if t == tool), {})

    def created(self, kind: str) -> list[Entry]:
        """The recorded entries of one kind ("label", "flow", "hunt", "phantom")."""
        return [e for e in self.entries if e.kind == kind]

    def clean_early(self) -> None:
        """Remove what is recorded so far, now; :meth:`clean` (at teardown) removes only what
        was recorded after this and returns, with its own, the problems of this removal.

        The SUT plugin calls it when a scenario's steps have passed, just before its
        end-of-scenario check (:meth:`support.sut.session.SutSession.check_quiet`), so that the
        check's drain window has mostly passed while the cleanup's queries ran; a cleanup
        failure is still reported at teardown, as before (bench/results/overhead.json)."""
        todo = [e for e in self.entries if not e.deferred]
        self._cleaned_early = todo
        self._early_problems = remove_all(self.oracle, todo)

    def clean(self) -> list[str]:
        """Remove everything recorded (but deferred entries, and what :meth:`clean_early`
        removed already); return what could not be removed (early problems included)."""
        early = getattr(self, "_cleaned_early", [])
        problems = list(getattr(self, "_early_problems", []))
        return problems + remove_all(self.oracle, [e for e in self.entries if not e.deferred and e not in early])


def worker_number(worker: str) -> int:
    """``"gw3"`` → 3; ``""`` (a serial run) → 0. Raises ValueError for another form or a
    number above 255 (the two hex digits of :meth:`Ledger.client_id`)."""
    if not worker:
        return 0
    m = re.fullmatch(r"gw(\d+)", worker)
    if not m or int(m.group(1)) > 255:
        raise ValueError(f"not an xdist worker id (gw0…gw255): {worker!r}")
    return int(m.group(1))


class Journal:
    """A worker's ledger entries as JSON lines in ``path`` (appended, flushed at once)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def __call__(self, entry: Entry) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(entry)) + "\n")

    @staticmethod
    def read(path: Path) -> list[Entry]:
        """The entries in a journal (a torn last line, from a worker killed mid-write, is skipped)."""
        out = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                out.append(Entry(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return out


@dataclass
class Book:
    """Every ledger of the session, for the end-of-run audit."""

    oracle: _Oracle
    run_id: str
    creator: str | None = None
    ledgers: list[Ledger] = field(default_factory=list)
    worker: str = ""                      # this xdist worker, or "" (see Ledger.worker)
    journal: Journal | None = None        # where a worker writes what its ledgers record
    defer: bool = False                   # see Ledger.defer
    #: What the lab held before the run (:func:`lab_baseline`), on a lab the run owns (embedded,
    #: docker); None on an external lab, where others may label and hunt meanwhile.
    before: dict[str, Any] | None = None

    def open(self) -> Ledger:
        ledger = Ledger(self.oracle, self.run_id, self.creator, worker=self.worker, on_record=self.journal,
                        defer=self.defer)
        self.ledgers.append(ledger)
        return ledger

    @classmethod
    def from_journals(cls, oracle: _Oracle, run_id: str, journals: list[Path], creator: str | None = None,
                      before: dict[str, Any] | None = None) -> "Book":
        """The whole run's book, for the controller's audit: one ledger per worker journal."""
        book = cls(oracle, run_id, creator, before=before)
        for path in journals:
            ledger = Ledger(oracle, run_id, creator, worker=Path(path).stem)
            ledger.entries = Journal.read(path)
            book.ledgers.append(ledger)
        return book

    def leftovers(self) -> list[Entry]:
        """What is still in Velociraptor: recorded entries, and anything in the run's namespace."""
        ns = f"raptorspec-{self.run_id}".lower()
        found: list[Entry] = []
        for ledger in self.ledgers:
            found += [e for e in ledger.entries if still_there(self.oracle, e)]
        for c in self.oracle.clients():
            for label in c.get("labels") or []:
                if str(label).lower().startswith(ns):
                    found.append(Entry("label", c["client_id"], label, "the run's namespace"))
        hunts = self.oracle.hunts()
        for h in hunts:
            if ns in str(h.get("hunt_description", "")).lower():
                found.append(Entry("hunt", "", h["hunt_id"], "the run's namespace"))
        if self.before is not None:
            found += self._appeared_unrecorded(hunts)
        unique: dict[tuple[str, str, str], Entry] = {}
        for e in found:
            key = (e.kind, e.client_id, e.ident.lower() if e.kind == "label" else e.ident)
            if key not in unique or (unique[key].deferred and not e.deferred):
                unique[key] = e
        return list(unique.values())

    def _appeared_unrecorded(self, hunts: list[dict[str, Any]]) -> list[Entry]:
        """Labels and hunts the lab did not hold before the run and still holds, whatever their
        name: a server that labels a client or makes a hunt outside any call's watch (a second
        after its reply, say) under a name of its own left them where neither a ledger nor the
        run's namespace finds them. Labels of another Raptorspec namespace (another run on the
        same lab) are not this run's."""
        assert self.before is not None
        found = []
        held = self.before.get("labels", {})
        for c in self.oracle.clients():
            for label in c.get("labels") or []:
                text = str(label).lower()
                if text not in held.get(c["client_id"], ()) and not text.startswith("raptorspec-"):
                    found.append(Entry("label", c["client_id"], label, UNRECORDED))
        old = set(self.before.get("hunts", ()))
        for h in hunts:
            if h.get("hunt_id") not in old and "raptorspec-" not in str(h.get("hunt_description", "")).lower():
                found.append(Entry("hunt", "", h["hunt_id"], UNRECORDED))
        return found

    def audit(self) -> None:
        """Remove deferred entries (their removal was put off to now: not leaks); raise
        :class:`LeftBehind` naming each other leftover (after trying to remove them), and any
        deferred one that could not be removed."""
        left = self.leftovers()
        failed_deferred = remove_all(self.oracle, [e for e in left if e.deferred])
        left = [e for e in left if not e.deferred]
        if failed_deferred:
            raise LeftBehind("Removing what the run's scenarios left for its end failed:\n"
                             + "\n".join(f"  - {p}" for p in failed_deferred))
        if not left:
            return
        failed = remove_all(self.oracle, left)
        lines = "\n".join(f"  - {e}" for e in left)
        after = ("\nThe audit removed them." if not failed else
                 "\nThe audit could not remove:\n" + "\n".join(f"  - {p}" for p in failed))
        raise LeftBehind(f"The run left {len(left)} thing(s) in Velociraptor (namespace raptorspec-{self.run_id}):\n"
                         f"{lines}{after}")


# --------------------------------------------------------------------------------------
# fixtures (this module is loaded as a plugin by conftest.py)


def _journals(lab_dir: Path) -> Path:
    return Path(lab_dir) / "ledgers"


@pytest.fixture(scope="session")
def ledger_book(oracle, run_id, pytestconfig, lab):
    """Every scenario's ledger; at session end, the audit fails the run on any leftover.

    In an xdist worker on the controller's shared lab, the ledgers are journalled instead
    and the controller audits the whole run (see the module docstring)."""
    from support.lab.plugin import shared_lab_info, worker_id

    worker = worker_id(pytestconfig)
    shared = shared_lab_info(pytestconfig) is not None
    journal = Journal(_journals(lab.dir) / f"{worker}.jsonl") if shared else None
    book = Book(oracle, run_id, creator=oracle.api_user, worker=worker, journal=journal,
                defer=shared and not getattr(lab, "api_user", ""),
                before=lab_baseline(oracle) if not shared and getattr(lab, "mode", "") in OWNED_LABS else None)
    yield book
    if not shared:
        with velociraptor_cleanup("the leak audit") as go:
            if go:
                book.audit()


_AUDIT_KEY = pytest.StashKey[str]()
_BEFORE_KEY = pytest.StashKey[dict]()
#: Lab modes whose Velociraptor only this run uses: the audit compares them before and after.
OWNED_LABS = ("embedded", "docker")


@pytest.hookimpl(trylast=True)   # after support.lab.plugin started the shared lab
def pytest_sessionstart(session: pytest.Session) -> None:
    """The xdist controller: what its lab holds before any worker runs (:func:`lab_baseline`)."""
    from support.lab.plugin import controller_lab, is_xdist_controller
    from support.oracle import Oracle

    config = session.config
    lab = controller_lab(config) if is_xdist_controller(config) else None
    if lab is None or getattr(lab, "mode", "") not in OWNED_LABS:
        return
    try:
        with Oracle(lab.api_config) as oracle:
            config.stash[_BEFORE_KEY] = lab_baseline(oracle)
    except Exception as exc:  # noqa: BLE001 - the audit still checks records and the run's namespace
        from support.lab.base import warn

        warn(f"the leak audit will not compare the lab before and after the run: {type(exc).__name__}: {exc}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The xdist controller, after the last worker: the run's one audit over every worker's
    journal and the run's namespace; leftovers fail the run."""
    from support.errors import LeftBehind as _LeftBehind
    from support.lab.plugin import controller_lab, is_xdist_controller, run_id_of
    from support.oracle import Oracle

    config = session.config
    lab = controller_lab(config) if is_xdist_controller(config) else None
    if lab is None or not _journals(lab.dir).is_dir():
        return   # no shared lab, or no scenario armed the audit
    journals = sorted(_journals(lab.dir).glob("*.jsonl"))
    try:
        with velociraptor_cleanup("the leak audit of the parallel run") as go:
            if go:
                with Oracle(lab.api_config) as oracle:
                    book = Book.from_journals(oracle, run_id_of(config), journals, creator=oracle.api_user,
                                              before=config.stash.get(_BEFORE_KEY, None))
                    book.audit()
    except _LeftBehind as exc:
        config.stash[_AUDIT_KEY] = str(exc)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    except Exception as exc:  # noqa: BLE001 - an audit that cannot run must not pass silently
        config.stash[_AUDIT_KEY] = f"The leak audit of the run could not run: {type(exc).__name__}: {exc}"
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    message = config.stash.get(_AUDIT_KEY, None)
    if message:
        terminalreporter.write_sep("=", "leak audit of the parallel run", red=True)
        terminalreporter.write_line(message, red=True)


@pytest.fixture(autouse=True)
def _ledger_audit(request):
    """Arms the session-end audit as soon as one scenario runs (project tests never arm it)."""
    from support.bdd import scenario_of

    if scenario_of(request.node) is not None:
        request.getfixturevalue("ledger_book")


@pytest.fixture
def ledger(ledger_book):
    """What this scenario created; removed through the oracle at teardown (a failure names
    what could not be removed)."""
    led = ledger_book.open()
    yield led
    problems: list[str] = []
    with velociraptor_cleanup("the scenario's cleanup") as go:
        if go:
            problems = led.clean()
    assert not problems, "Cleanup left things in Velociraptor:\n" + "\n".join(problems)
