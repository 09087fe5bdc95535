"""The passenger service evaluator (服务评价器) on the JT/T 905.2 bus (device layer): its frames, as data.

Device type 0x06 (rear evaluator; 0x11 front), as in the device-type list of SmallChi/JT905
(``JT905DeviceType``). No open implementation of the evaluator's own commands was found, so the
commands are ours and docs/meter-link.md ("The rest of the bus") says so. The rating values are
those the JT/T 905 trip upload (0x0B05, "评价选项") carries: 0 no evaluation, 1 satisfied,
2 ordinary, 3 dissatisfied. Same field kinds and walk as drivers/meter_link_codec.py.
Pure and MicroPython-compatible.
"""

from drivers import meter_link_codec as ml
from drivers.peripheral_frame import Frame, FrameError

DEVICE_EVALUATOR = 0x06
DEVICE_EVALUATOR_FRONT = 0x11

CMD_STATUS = 0x0000
CMD_ASK = 0x0010          # ours: the trip is settling, ask the passenger
CMD_RATING = 0x0011       # ours: the passenger's choice (or "no evaluation" at the timeout)

RATINGS = {0: "none", 1: "satisfied", 2: "ordinary", 3: "dissatisfied"}

LAYOUTS = {
    (CMD_STATUS, ml.DOWN): [("time", "time7", 7)],
    (CMD_STATUS, ml.UP): [("vendor_id", "u8", 1), ("device_type", "u8", 1), ("serial", "raw", 3),
                          ("hw_version", "u8", 1), ("sw_major", "u8", 1), ("sw_minor", "u8", 1),
                          ("device_state", "u8", 1)],
    (CMD_ASK, ml.DOWN): [("trip_no", "u32", 4), ("timeout_s", "u8", 1)],
    (CMD_ASK, ml.UP): [("result", "u8", 1)],
    (CMD_RATING, ml.UP): [("trip_no", "u32", 4), ("evaluation_id", "u32", 4), ("rating", "u8", 1),
                          ("extended", "u16", 2)],
    (CMD_RATING, ml.DOWN): [("result", "u8", 1)],
}
_TRAILING_OK = {(CMD_STATUS, ml.UP)}


def frame(command, direction, values, vendor=0, device=DEVICE_EVALUATOR):
    return Frame(device, vendor, command, ml.encode_body(command, direction, values, LAYOUTS))


def parse(f, direction):
    """(command, values) of an evaluator frame; FrameError if it is not one."""
    if f.device not in (DEVICE_EVALUATOR, DEVICE_EVALUATOR_FRONT):
        raise FrameError("device type 0x%02x is not a service evaluator" % f.device)
    values = ml.decode_body(f.command, direction, f.body, LAYOUTS, _TRAILING_OK)
    if f.command == CMD_RATING and direction == ml.UP and values["rating"] not in RATINGS:
        raise FrameError("rating %d is not one of %s" % (values["rating"], sorted(RATINGS)))
    return f.command, values
