"""Resource words: browsing a page of the server under test, and Thens that hold the page to
what Velociraptor shows. Pages are found by their content (support/resources.py), not by
one server's layout.
"""
from __future__ import annotations

from pytest_bdd import parsers, then, when

from support import hunts, resources
from support.rows import VOLATILE, diff, said

_PAGES = "|".join(resources.PAGES)


def _one(reply, key, ident):
    found = [r for r in resources.records(reply.data, key) if str(r.get(key)) == ident]
    assert found, f"The page has no record with {key} {ident!r}: {said(reply)}"
    return found[0]


# -- Whens: one read each ----------------------------------------------------------------


@when(parsers.re(rf"I browse the (?P<page>{_PAGES})"), target_fixture="reply")
def _(sut, page):
    return sut.read_resource(resources.PAGES[page])


@when("I browse the client's page", target_fixture="reply")
def _(sut, client):
    return sut.read_resource(resources.ITEM_PAGES["client"].format(client.client_id))


@when("I browse the hunt's page", target_fixture="reply")
def _(sut, hunt):
    return sut.read_resource(resources.ITEM_PAGES["hunt"].format(hunt.hunt_id))


@when("I browse the hunt's results page", target_fixture="reply")
def _(sut, hunt):
    return sut.read_resource(resources.ITEM_PAGES["results page of hunt"].format(hunt.hunt_id))


@when(parsers.re(r'I browse the (?:page of )?(?P<kind>client|hunt|artifact|deployment|results page of hunt) '
                 r'"(?P<ident>[^"]+)"'), target_fixture="reply")
def _(sut, kind, ident):
    return sut.read_resource(resources.ITEM_PAGES[kind].format(ident))


# -- Thens -------------------------------------------------------------------------------


@then(parsers.parse('the server under test answers that "{ident}" is not found'))
def _(reply, ident):
    assert not reply.ok, f"Expected not found for {ident!r}; the server under test answered {said(reply)}"
    assert resources.says_not_found(reply.error) and ident.lower() in str(reply.error).lower(), (
        f"The error does not say that {ident!r} is not found: {said(reply)}")


@then("the page lists exactly the clients Velociraptor knows")
def _(oracle, reply):
    listed = {str(r["client_id"]) for r in resources.records(reply.data, "client_id")}
    known = {c["client_id"] for c in oracle.clients()}
    assert listed == known, (f"Listed but unknown to Velociraptor: {sorted(listed - known)}; known but not listed: "
                             f"{sorted(known - listed)}")


@then("the page describes the client with the hostname and OS Velociraptor shows")
def _(oracle, reply, client):
    record = _one(reply, "client_id", client.client_id)
    info = (oracle.client(client.client_id) or {}).get("os_info") or {}
    missing = [f"{k} {info.get(k)!r}" for k in ("hostname", "system") if not resources.has_value(record, info.get(k))]
    assert not missing, f"The client's page lacks Velociraptor's {', '.join(missing)}: {said(reply)}"


@then(parsers.parse('the page lists the hunt "{word}" as {state}'))
def _(oracle, reply, hunt_named, word, state):
    hunt_id = hunts.the_one_described(oracle, hunt_named(word))["hunt_id"]
    seen = hunts.listed(resources.records(reply.data, "hunt_id"))
    assert seen.get(hunt_id, "").upper() == state, f"Expected hunt {hunt_id} as {state}; the page lists {seen}"


@then("every hunt on the page has the state Velociraptor shows")
def _(oracle, reply):
    truth = {h["hunt_id"]: h.get("state") for h in oracle.hunts()}
    seen = hunts.listed(resources.records(reply.data, "hunt_id"))
    wrong = {h: (s, truth.get(h, "no such hunt")) for h, s in seen.items() if s.upper() != truth.get(h)}
    assert not wrong, f"State on the page vs Velociraptor's: {wrong}"


@then("the page describes the hunt with the description and state Velociraptor shows")
def _(oracle, reply, hunt):
    record = _one(reply, "hunt_id", hunt.hunt_id)
    truth = oracle.hunt(hunt.hunt_id) or {}
    got = (resources.first(record, "hunt_description", "description"), resources.first(record, "state", "State"))
    assert got == (truth.get("hunt_description"), truth.get("state")), (
        f"The page says (description, state) {got}; Velociraptor shows "
        f"{(truth.get('hunt_description'), truth.get('state'))}")


@then("the rows on the page equal Velociraptor's results of the hunt")
def _(oracle, reply, hunt):
    truth = hunts.results(oracle, hunt.hunt_id, hunt.artifacts[0])
    assert truth, f"Velociraptor holds no results of hunt {hunt.hunt_id}: nothing to compare"
    rows = reply.rows if reply.rows is not None else resources.records(reply.data, "ClientId")
    problem = diff(rows, truth, hunts.result_columns(truth, VOLATILE),
                   what=f"hunt_results(hunt_id={hunt.hunt_id}, artifact={hunt.artifacts[0]})")
    assert not problem, problem


@then("the page lists exactly the artifacts Velociraptor has")
def _(oracle, reply):
    listed = {str(r["name"]) for r in resources.records(reply.data, "name")}
    known = {a["name"] for a in oracle.query("SELECT name FROM artifact_definitions()")}
    assert listed == known, (f"{len(listed)} listed, Velociraptor has {len(known)}; unknown to Velociraptor: "
                             f"{sorted(listed - known)[:10]}; missing: {sorted(known - listed)[:10]}")


@then(parsers.parse('the page describes "{name}" with the description and parameters Velociraptor has'))
def _(oracle, reply, name):
    record = _one(reply, "name", name)
    truth = oracle.query_one("SELECT description, parameters FROM artifact_definitions(names=RsName)",
                             {"RsName": name}) or {}
    params = sorted(p.get("name") for p in record.get("parameters") or [] if isinstance(p, dict))
    want = sorted(p.get("name") for p in truth.get("parameters") or [])
    assert (str(record.get("description")).strip(), params) == (str(truth.get("description")).strip(), want), (
        f"The page says description {record.get('description')!r}, parameters {params}; Velociraptor has "
        f"{truth.get('description')!r}, {want}")


@then("the page gives the version Velociraptor reports")
def _(oracle, reply):
    version = resources.velociraptor_version(oracle)
    assert resources.gives_version(reply.data, version), (
        f"Velociraptor reports version {version!r}; the page gives version(s) {list(resources.versions(reply.data))}: "
        f"{said(reply)}")


@then("the page gives the hostname and OS Velociraptor reports for its server")
def _(oracle, reply):
    info = oracle.info()
    missing = [f"{k} {info.get(k)!r}" for k in ("Hostname", "OS") if not resources.has_value(reply.data, info.get(k))]
    assert not missing, f"The page lacks the server's {', '.join(missing)}: {said(reply)}"


@then("every deployment on the page opens on its own page")
def _(sut, reply):
    ids = [str(resources.first(r, "deployment_id", "id")) for r in resources.records(reply.data, "deployment_id")]
    broken = {}
    for ident in ids:
        page = sut.read_resource(resources.ITEM_PAGES["deployment"].format(ident))
        if not (page.ok and resources.has_value(page.data, ident)):
            broken[ident] = said(page)
    assert not broken, f"Deployments listed that do not open: {broken}"
