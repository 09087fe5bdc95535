"""JT/T 808 0x8701 (recorder parameter download): the recorder's own parameters are set and audited;
legal ones (clock, K, initial mileage) are refused with the general reply's failure code, audited,
and left as they were."""

import base64
from types import SimpleNamespace

from terminal.app.jt_desk import JtDesk
from terminal.recorder import blocks, export, header_blocks, identity
from terminal.recorder.store import RecordStore
from terminal.storage.database import Storage

T0 = 1_795_000_020_000


class Link:
    name, protocol = "jt808", "jt808"

    def __init__(self):
        self.replies = []

    def reply(self, message, result):
        self.replies.append((message["header"]["msg_sn"], result))


def rig(tmp_path):
    storage = Storage(tmp_path / "t.db")
    RecordStore(storage)
    audits = []
    term = SimpleNamespace(storage=storage, recorder=None, config={"terminal": {"plate": "浙A12345"}},
                           platform=SimpleNamespace(last=None), outbox=SimpleNamespace(pump=lambda: None),
                           audit_event=lambda event, parameter, old, new, actor="terminal":
                           audits.append((event, parameter, old, new, actor)),
                           meter=SimpleNamespace(odometer=SimpleNamespace(k=1000)))
    link = Link()
    return JtDesk(term, {"jt808": link}), link, storage, audits


def setting(desk, code, values, sn=9, word=None):
    data = header_blocks.pack(header_blocks.SETTING[code][1], values)
    frame = blocks.frame(blocks.DOWN, code, data)
    message = {"header": {"msg_id": 0x8701, "msg_sn": sn, "phone": "013912345678", "encrypt": 0},
               "body": {"command": code if word is None else word, "param": base64.b64encode(frame).decode()}}
    desk.on_command({"link": "jt808", "message": message}, T0)
    return desk.links["jt808"].replies[-1]


def test_a_remote_pulse_coefficient_is_refused_audited_and_not_applied(tmp_path):
    desk, link, storage, audits = rig(tmp_path)
    assert setting(desk, 0xC3, {"now": T0, "k": 3600}) == (9, 1)         # general reply: failure
    assert desk.term.meter.odometer.k == 1000
    [(event, parameter, _old, new, actor)] = audits
    assert (event, parameter, actor) == ("seal_refused", "set_k", "platform") and "K 3600" in new
    values = export.header_values(storage, {"k": desk.term.meter.odometer.k}, T0)
    assert values[0x04]["k"] == 1000


def test_the_clock_and_the_initial_mileage_are_legal_too(tmp_path):
    desk, link, storage, audits = rig(tmp_path)
    assert setting(desk, 0xC2, {"now": T0 + 3_600_000})[1] == 1
    assert setting(desk, 0xC4, {"now": T0, "first_install": T0, "initial_01km": 5000, "total_01km": 5000})[1] == 1
    assert [a[:2] for a in audits] == [("seal_refused", "clock_correction"), ("seal_refused", "initial_mileage")]
    assert identity.params(storage) == {}


def test_vehicle_information_is_applied_and_audited(tmp_path):
    desk, link, storage, audits = rig(tmp_path)
    vals = {"vin": "LSVAU2180N2183294", "plate": "浙A88888", "plate_class": "出租"}
    assert setting(desk, 0x82, vals) == (9, 0)
    assert export.header_values(storage, {}, T0)[0x05] == vals
    assert [(a[0], a[1], a[3], a[4]) for a in audits] == [("parameter", "recorder.vin", vals["vin"], "platform"),
                                                          ("parameter", "recorder.plate", "浙A88888", "platform"),
                                                          ("parameter", "recorder.plate_class", "出租", "platform")]
    assert setting(desk, 0x82, vals)[1] == 0 and len(audits) == 3       # the same again: nothing to audit


def test_first_installation_and_status_configuration_are_applied_and_audited(tmp_path):
    desk, link, storage, audits = rig(tmp_path)
    assert setting(desk, 0x83, {"first_install": T0 - 86_400_000})[1] == 0
    assert export.header_values(storage, {}, T0)[0x03]["first_install"] == T0 - 86_400_000
    names = {f"d{i}": n for i, n in enumerate(("钥匙", "空重车", "", "", "", "", "", "刹车"))}
    assert setting(desk, 0x84, {"now": T0, "signals": 0x83, **names})[1] == 0
    status = export.header_values(storage, {}, T0)[0x06]
    assert status["signals"] == 0x83 and status["d0"] == "钥匙" and status["d7"] == "刹车"
    assert [a[1] for a in audits] == ["recorder.first_install", "recorder.status_config"]


def test_what_cannot_be_read_changes_nothing(tmp_path):
    desk, link, storage, audits = rig(tmp_path)
    assert setting(desk, 0x82, {"vin": "X"}, word=0x83)[1] == 2          # command words disagree
    message = {"header": {"msg_id": 0x8701, "msg_sn": 4, "phone": "013912345678", "encrypt": 0},
               "body": {"command": 0x82, "param": base64.b64encode(b"junk").decode()}}
    desk.on_command({"link": "jt808", "message": message}, T0)
    assert link.replies[-1] == (4, 2)
    message["header"]["msg_sn"] = 5
    message["body"] = {"command": 0xD0, "param": base64.b64encode(blocks.frame(blocks.DOWN, 0xD0, b"")).decode()}
    desk.on_command({"link": "jt808", "message": message}, T0)
    assert link.replies[-1] == (5, 3)                                    # not a setting this recorder knows
    assert audits == [] and identity.params(storage) == {}


def test_setting_changes_appear_as_parameter_change_blocks():
    rows = [{"t_ms": T0, "event": e, "parameter": p} for e, p, *_ in
            [("parameter", "recorder.vin"), ("parameter", "recorder.status_config"), ("parameter", "report_vacant_s")]]
    assert [blocks.parameter_block(r) for r in rows] == [blocks.bcd6(T0) + b"\x82", blocks.bcd6(T0) + b"\x84", None]
