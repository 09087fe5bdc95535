"""Operating states and driver keys: every legal transition works, every illegal one is refused."""

from meter import canonical
from meter.errors import MeterError
from meter.taximeter import KEYS, STATES
from tests.meter.drive import Drive
from tests.meter.support import meter, raises

ROUTES = {
    "for_hire": [],
    "hired": ["hire"],
    "stopped": ["hire", "pause"],
    "settling": ["hire", "settle"],
    "out_of_service": ["out_of_service"],
}


def in_state(state):
    d = Drive(meter())
    for key in ROUTES[state]:
        d.run(5, 30).key(key)
    assert d.m.state == state
    return d


def key_event(d, name):
    event = {"t_ms": d.t + 1000, "key": name}
    if name == "extra":
        event["amount_fen"] = 500
        event["label"] = "过路费"
    return event


def test_every_key_in_every_state_is_legal_or_refused_without_change():
    for state in STATES:
        for name in KEYS:
            legal, target = KEYS[name]
            d = in_state(state)
            before = canonical.encode(d.m.snapshot())
            event = key_event(d, name)
            if state in legal:
                d.m.apply(event)
                assert d.m.state == (target or state), (state, name)
            else:
                exc = raises(MeterError, d.m.apply, event)
                assert name in str(exc) and state in str(exc)
                assert canonical.encode(d.m.snapshot()) == before, (state, name)


def test_a_whole_trip_through_every_state():
    d = Drive(meter()).run(60, 30)
    d.key("hire").run(120, 40).key("pause").run(60, 0).key("resume").run(60, 40)
    d.key("settle").key("extra", amount_fen=1000, label="过桥费").key("clear")
    assert d.m.state == "for_hire"
    assert len(d.closed) == 1
    d.key("out_of_service").run(60, 50).key("in_service")
    assert d.m.state == "for_hire"


def test_bad_events_are_refused_and_change_nothing():
    d = in_state("hired").run(10, 30)
    before = canonical.encode(d.m.snapshot())
    t = d.t
    bad = [
        {"t_ms": t - 1, "pulses": 999999},                    # time backwards
        {"t_ms": t + 1000, "pulses": 1},                      # pulses backwards
        {"t_ms": t + 1000, "pulses": -5},
        {"t_ms": t + 1000, "pulses": 1.5},
        {"t_ms": t + 1000, "key": "fly"},
        {"t_ms": t + 1000, "key": "extra", "amount_fen": 0, "label": "x"},
        {"t_ms": t + 1000, "key": "extra", "amount_fen": 100},
        {"t_ms": t + 1000, "key": "extra", "amount_fen": 10 ** 9, "label": "x"},
        {"t_ms": t + 1000, "key": "pause", "amount_fen": 5},
        {"t_ms": t + 1000, "power": "maybe"},
        {"t_ms": t + 1000, "power": "on"},                    # already on
        {"t_ms": t + 1000},
        {"t_ms": t + 1000, "pulses": 5, "key": "pause"},
        {"t_ms": "soon", "key": "pause"},
        {"t_ms": t + 1000, "key": "pause", "colour": "red"},
        [1, 2],
    ]
    for event in bad:
        raises(MeterError, d.m.apply, event)
        assert canonical.encode(d.m.snapshot()) == before, event


def test_hire_carries_the_on_call_order_id():
    d = Drive(meter()).key("hire", order_id="95128-000042").run(30, 30).key("settle").key("clear")
    assert d.closed[0]["order_id"] == "95128-000042"
    d.key("hire").key("settle").key("clear")
    assert d.closed[1]["order_id"] == "0"


def test_implausible_pulses_stop_metering_visibly():
    d = in_state("hired").run(30, 40)
    fare = d.fare()
    d.t += 1000
    d.m.apply({"t_ms": d.t, "pulses": d.m.odometer.reading + 500000})  # 500 km in a second
    assert "implausible" in d.m.view()["fault"]
    d.num = d.m.odometer.reading * 3600000
    d.run(120, 40)
    assert d.fare() == fare                      # nothing more is charged
    d.key("settle").key("clear")
    assert "meter_fault" in d.closed[0]["flags"]
    raises(MeterError, d.key, "hire")           # no new hiring until repaired
    d.m.clear_fault(d.t + 1000, "sensor repaired")
    d.t += 1000
    d.key("hire")
    assert d.m.state == "hired"
