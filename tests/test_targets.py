"""The target registry: OS, hostname, labels, online state, and picking (or skipping) by OS."""
from __future__ import annotations

import pytest

from support.targets import ONLINE_WITHIN, Target, Targets

NOW = 1_800_000_000.0


class Skipped(Exception):
    pass


def _skip(reason: str):
    raise Skipped(reason)


class FakeOracle:
    def __init__(self, rows):
        self.rows = rows

    def clients_with_clock(self):
        return [dict(r, RsServerNow=NOW) for r in self.rows]


def _row(cid, system="linux", host="web1", seen_ago=5.0, labels=()):
    return {"client_id": cid, "os_info": {"system": system, "hostname": host}, "labels": list(labels),
            "first_seen_at": int(NOW - 3600), "last_seen_at": int((NOW - seen_ago) * 1e6) if seen_ago is not None else 0}


def test_a_row_becomes_a_target_with_os_hostname_labels_and_online_state():
    t = Target.from_row(_row("C.1111111111111111", "windows", "dc01", 12, ["case-1"]), NOW)
    assert (t.client_id, t.os, t.hostname, t.labels) == ("C.1111111111111111", "windows", "dc01", ("case-1",))
    assert t.online and round(t.seen_ago) == 12
    stale = Target.from_row(_row("C.2222222222222222", seen_ago=ONLINE_WITHIN + 1), NOW)
    assert not stale.online


def test_pick_returns_the_most_recently_seen_client_of_that_os():
    oracle = FakeOracle([_row("C.aaaaaaaaaaaaaaaa", seen_ago=30), _row("C.bbbbbbbbbbbbbbbb", seen_ago=2),
                         _row("C.cccccccccccccccc", "windows", seen_ago=1)])
    assert Targets(oracle, skip=_skip).pick("linux").client_id == "C.bbbbbbbbbbbbbbbb"
    assert Targets(oracle, skip=_skip).pick("windows").client_id == "C.cccccccccccccccc"


def test_pick_skips_with_a_reason_when_the_os_is_missing():
    oracle = FakeOracle([_row("C.aaaaaaaaaaaaaaaa")])
    with pytest.raises(Skipped, match=r"^no enrolled windows client in this lab \(enrolled: C\.aaaaaaaaaaaaaaaa"):
        Targets(oracle, skip=_skip).pick("windows")


def test_macos_means_darwin_and_offline_clients_are_not_picked():
    oracle = FakeOracle([_row("C.dddddddddddddddd", "darwin", seen_ago=600)])
    with pytest.raises(Skipped, match=r"no online macos client .*C\.dddddddddddddddd \(darwin, web1, seen 600s ago\)"):
        Targets(oracle, skip=_skip).pick("macos")
    assert Targets(oracle, skip=_skip).pick("macos", online=False).os == "darwin"


def test_client_records_that_never_enrolled_are_not_targets():
    phantom = {"client_id": "C.0000000000000000", "os_info": {"system": ""}, "labels": ["x"],
               "first_seen_at": 0, "last_seen_at": 0}
    assert [t.client_id for t in Targets(FakeOracle([phantom, _row("C.aaaaaaaaaaaaaaaa")])).all()] == [
        "C.aaaaaaaaaaaaaaaa"]


@pytest.mark.lab
def test_the_live_lab_offers_its_linux_client_and_skips_windows(lab, oracle):
    targets = Targets(oracle)
    picked = targets.pick("linux")
    assert picked.client_id in lab.client_ids and picked.online and picked.hostname
    with pytest.raises(pytest.skip.Exception, match="no enrolled windows client in this lab"):
        targets.pick("windows")
