"""Inspector export and inspection: everything verified, any changed byte found, the first bad record named."""

import json
from html.parser import HTMLParser

import pytest

from meter import trip as meter_trip
from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit
from terminal.storage.database import Storage
from terminal.trust import export as export_mod
from terminal.trust import inspect_report, keys
from terminal.trust.tariff_store import TariffStore

from .conftest import authorisation, make_trips, now_ms, set_switch, signed_tariff, store_through_chain


@pytest.fixture
def terminal_state(state, tmp_path, test_keys):
    """A terminal with a signed tariff, 120 trips, one shift and a calibration."""
    set_switch(state, True)
    assert main(["tariff", "install", str(signed_tariff(tmp_path, test_keys.authority)), "--state",
                 str(state.root)]) == 0
    set_switch(state, False)
    entry = TariffStore(state.tariffs).entries()[-1]
    trips, totals = make_trips(120, "GZ-2026A", entry["tariff_digests"][0])
    store_through_chain(state, trips, totals)
    with Storage(state.database) as storage:
        storage.sign_in("440100123456", trips[0]["board_ms"] - 1000)
        storage.sign_out(trips[-1]["end_ms"] + 1000, {"hirings": 120})
    return state


def export_file(state, tmp_path, name="export.json"):
    out = tmp_path / name
    assert main(["export", "--state", str(state.root), "--out", str(out)]) == 0
    return out


def pins(test_keys, state):
    return {"device": state.device_public(), "vendor": test_keys.vendor.public_key(),
            "authority": test_keys.authority.public_key()}


def resign(blob: bytes, state, change) -> bytes:
    """What a device with its own key could do: alter the data and sign it again."""
    data = json.loads(blob)["export"]
    change(data)
    return export_mod.export(data, state.device_key())


def test_export_holds_everything_and_inspects_clean(terminal_state, tmp_path, test_keys, capsys):
    out = export_file(terminal_state, tmp_path)
    data = json.loads(out.read_bytes())["export"]
    assert data["device_id"] == "TX-0001" and data["software"]["software_id"].startswith("taxiterm 0.1.0 meter:")
    assert len(data["trips"]) == 120 and data["totalisers"]["hirings"] == 120
    assert data["calibration"]["k"] == 6200 and data["shifts"][0]["driver_cert"] == "440100123456"
    assert data["tariff"]["active"]["tariff_id"] == "GZ-2026A" and "BEGIN PUBLIC KEY" in data["keys"]["device"]
    assert data["seal"] == {"switch_closed": False, "audit_full": False, "audit_count": data["seal"]["audit_count"],
                            "audit_capacity": 1000}
    capsys.readouterr()
    assert main(["inspect", str(out), "--device-key", str(terminal_state.device_pub_path),
                 "--vendor-key", test_keys.path("vendor.pub"), "--authority-key", test_keys.path("authority.pub")]) == 0
    text = capsys.readouterr().out
    assert "RESULT: all checks passed" in text and "[FAIL]" not in text and "[WARN]" not in text
    assert "120 trips #1..#120, every digest verified" in text
    assert "equal the sums over all trips" in text


def test_live_inspection_on_the_device(terminal_state, capsys):
    assert main(["inspect", "--state", str(terminal_state.root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["first_failure"] is None
    identity = next(c for c in report["checks"] if c["name"] == "software identity")
    assert "recomputed from the code here" in identity["detail"]


def test_unpinned_roots_fail_and_a_certified_device_key_needs_only_the_vendor_root(terminal_state, tmp_path,
                                                                                 test_keys, capsys):
    out = export_file(terminal_state, tmp_path)
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 1
    text = capsys.readouterr().out
    assert "[FAIL] vendor key: not pinned" in text and "RESULT: FAILED - vendor key" in text
    roots = ["--vendor-key", test_keys.path("vendor.pub"), "--authority-key", test_keys.path("authority.pub")]
    assert main(["inspect", str(out)] + roots) == 0
    assert "(pkcs11) certified by the vendor root" in capsys.readouterr().out
    # an export re-signed with another key: not certified, a failure with no green headline
    other_key = keys.generate()
    data = json.loads(out.read_bytes())["export"]
    data["keys"]["device"] = keys.public_pem(other_key.public_key()).decode()
    forged = tmp_path / "forged.json"
    forged.write_bytes(export_mod.export(data, other_key))
    html_path = tmp_path / "forged.html"
    assert main(["inspect", str(forged), "--html", str(html_path)] + roots) == 1
    assert "device certificate names key" in capsys.readouterr().out
    assert 'id="result" class="fail"' in html_path.read_text()
    other = tmp_path / "other.pub"
    keys.write_public(other, keys.generate().public_key())
    assert main(["inspect", str(out), "--device-key", str(other)]) == 1
    assert "the pinned device key is" in capsys.readouterr().out


def test_html_report_is_self_contained_and_parses(terminal_state, tmp_path, capsys):
    out = export_file(terminal_state, tmp_path)
    html_path = tmp_path / "report.html"
    assert main(["inspect", str(out), "--html", str(html_path), "--vendor-key", str(terminal_state.role_path("vendor")),
                 "--authority-key", str(terminal_state.role_path("authority"))]) == 0

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.refs, self.ids, self.rows, self.text = [], [], {}, {}, []
            self.table = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            self.tags.append(tag)
            self.refs += [v for k, v in attrs.items() if k in ("src", "href") and v]
            if "id" in attrs:
                self.ids[attrs["id"]] = tag
            if tag == "table":
                self.table = attrs.get("id")
            if tag == "tr" and self.table:
                self.rows[self.table] = self.rows.get(self.table, 0) + 1

        def handle_data(self, data):
            self.text.append(data)

    p = Collect()
    p.feed(html_path.read_text(encoding="utf-8"))
    assert p.refs == [] and "script" not in p.tags and "link" not in p.tags and "style" in p.tags
    assert p.rows["trips"] == 121 and p.rows["audit"] >= 5 and p.rows["checks"] >= 10
    text = "".join(p.text)
    assert "RESULT: all checks passed" in text and "TX-0001" in text and "GZ-2026A" in text


def test_flipping_any_byte_of_an_export_is_detected(terminal_state, tmp_path, test_keys):
    # a small export: few trips, so every byte position can be tried
    small = json.loads(export_file(terminal_state, tmp_path).read_bytes())["export"]
    small["trips"] = small["trips"][:2]
    small["audit"]["records"] = small["audit"]["records"][:3]
    small["shifts"] = []
    small["tariff"] = None
    small["totalisers"] = None
    small["meter_state"] = None
    small["keys"]["device_certificate"] = None      # the device key is pinned here
    blob = export_mod.export(small, terminal_state.device_key())
    assert inspect_report.inspect(blob, pins(test_keys, terminal_state)).checks[0].ok
    undetected = []
    for pos in range(len(blob)):
        for mask in (0x01,) if pos % 5 else (0x01, 0x20, 0x80):  # every position; a denser sample every 5th
            bad = bytearray(blob)
            bad[pos] ^= mask
            report = inspect_report.inspect(bytes(bad), pins(test_keys, terminal_state))
            if report.ok:
                undetected.append((pos, mask))
    assert undetected == [], f"{len(undetected)} flips of {len(blob)} bytes went unnoticed"


@pytest.mark.parametrize("what, check, named", [
    ("trip altered", "trips", "trip #37 (position 36): digest does not match"),
    ("trip removed", "trips", "trip #38 (position 36): follows trip #36"),
    ("totaliser", "totalisers", "fares_fen ="),
    ("audit record", "audit trail", "record #3 (position 2)"),
    ("audit removed", "audit trail", "record #2 (position 1)"),
    ("software id", "software identity", "does not match"),
    ("tariff", "tariff", "does not verify"),
])
def test_a_lying_device_is_caught_naming_the_first_bad_record(terminal_state, tmp_path, test_keys, capsys,
                                                              what, check, named):
    blob = export_file(terminal_state, tmp_path).read_bytes()

    def change(data):
        if what == "trip altered":
            data["trips"][36]["fare_fen"] += 100
        elif what == "trip removed":
            del data["trips"][36]
        elif what == "totaliser":
            data["totalisers"]["fares_fen"] += 1
        elif what == "audit record":
            data["audit"]["records"][2]["new"] = "forged"
        elif what == "audit removed":
            del data["audit"]["records"][1]
        elif what == "software id":
            data["software"]["software_id"] = "taxiterm 0.1.0 meter:00000000"
        elif what == "tariff":
            data["tariff"]["file"] = data["tariff"]["file"].replace("1300", "1200")

    bad = tmp_path / "bad.json"
    bad.write_bytes(resign(blob, terminal_state, change))
    capsys.readouterr()
    roots = ["--vendor-key", test_keys.path("vendor.pub"), "--authority-key", test_keys.path("authority.pub")]
    assert main(["inspect", str(bad), "--json"] + roots) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["first_failure"]["name"] == check
    assert named in report["first_failure"]["detail"]
    assert main(["inspect", str(bad)] + roots) == 1
    assert f"RESULT: FAILED - {check}" in capsys.readouterr().out


def test_truncated_or_foreign_files_are_refused(terminal_state, tmp_path, capsys):
    blob = export_file(terminal_state, tmp_path).read_bytes()
    for bad in (blob[:-1], blob[: len(blob) // 2], b"", b"{}\n", json.dumps({"export": {}}).encode()):
        report = inspect_report.inspect(bad)
        assert not report.ok and report.checks[0].name == "export file"
    path = tmp_path / "cut.json"
    path.write_bytes(blob[:100])
    assert main(["inspect", str(path)]) == 1
    assert "RESULT: FAILED - export file" in capsys.readouterr().out


def test_full_audit_trail_locks_changes_until_acknowledged(terminal_state, tmp_path, test_keys, capsys):
    st = terminal_state
    audit = open_audit(st, "sid")
    audit.conn.execute("BEGIN IMMEDIATE")
    while audit.count() < audit.capacity:
        audit.append("power_dip", "supply", None, "120 ms")
    audit.conn.execute("COMMIT")
    audit.close()
    set_switch(st, True)
    tariff_b = signed_tariff(tmp_path, test_keys.authority,
                             signed_tariff(tmp_path, test_keys.authority).read_bytes().replace(b"260", b"270"), "b.toml")
    assert main(["tariff", "install", str(tariff_b), "--state", str(st.root)]) == 2
    assert "audit trail is full" in capsys.readouterr().err
    set_switch(st, False)
    out = export_file(st, tmp_path)
    # acknowledging needs the seal too
    assert main(["inspect", str(out), "--state", str(st.root), "--acknowledge"]) == 2
    assert "seal switch is open" in capsys.readouterr().err
    auth = authorisation(test_keys.authority, tmp_path, actions=("audit_acknowledge",), technician="INSP-3")
    assert main(["inspect", str(out), "--state", str(st.root), "--acknowledge", "--authorisation", str(auth)]) == 0
    assert "legal changes unlocked" in capsys.readouterr().err
    set_switch(st, True)
    assert main(["tariff", "install", str(tariff_b), "--state", str(st.root)]) == 0
    # the trail on the device still verifies, and continues the inspector's archived copy
    capsys.readouterr()
    assert main(["inspect", "--state", str(st.root)]) == 0
    assert "continues after acknowledged record" in capsys.readouterr().out
    archived = json.loads(out.read_bytes())["export"]["audit"]["records"]
    audit = open_audit(st, "sid")
    remaining = audit.records()
    audit.close()
    from terminal.trust.audit import verify_records
    assert verify_records(archived + remaining, st.device_public()).ok


def test_acknowledging_another_devices_export_is_refused(terminal_state, tmp_path, test_keys, capsys):
    blob = export_file(terminal_state, tmp_path).read_bytes()
    other = keys.generate()
    data = json.loads(blob)["export"]
    data["device_id"] = "TX-0002"
    data["keys"]["device"] = keys.public_pem(other.public_key()).decode()
    data["audit"]["records"], data["audit"]["head"] = [], None
    data["seal"]["audit_count"] = 0
    data["trips"], data["totalisers"], data["meter_state"] = [], None, None
    foreign = tmp_path / "foreign.json"
    foreign.write_bytes(export_mod.export(data, other))
    set_switch(terminal_state, True)
    assert main(["inspect", str(foreign), "--state", str(terminal_state.root), "--acknowledge"]) == 2
    # refused: the foreign key is not certified for this device (and it is another device)
    assert "not acknowledged" in capsys.readouterr().err


def test_trip_digest_is_the_meters_canonical_digest(terminal_state):
    with Storage(terminal_state.database) as storage:
        trip = storage.trips(1)[0]
    assert meter_trip.verify_record(trip) and len(trip["digest"]) == 64
    assert now_ms() > 0
