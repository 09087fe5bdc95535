"""The platform's recorder settings (recorder room): GB/T 19056 setting commands from JT/T 808 0x8701.

``download(storage, command, param)`` reads one setting frame (``AA 75``, the command word,
its data; terminal/recorder/header_blocks.py ``SETTING``) and decides under this product's
rules (docs/recorder.md):

- 82H vehicle information, 83H first installation time, 84H status signal configuration
  are the recorder's own, non-legal parameters: applied (``rec_param``) and audited as
  ``parameter`` records ``recorder.vin`` / ``recorder.plate`` / ``recorder.plate_class`` /
  ``recorder.first_install`` / ``recorder.status_config`` (old and new value);
- C2H real time, C3H pulse coefficient (K), C4H initial mileage are legal: the clock and K
  change only under the seal, on site (terminal/trust/seal.py), and the mileage is the
  meter's own total. A remote command never changes them: refused, audited as
  ``seal_refused`` with what was asked, nothing applied.

Returns ``(result, audits)``: result ``"applied"``, ``"unchanged"`` (the values were already
those), ``"refused"``, ``"bad"`` (a frame that cannot be read, or whose command word differs
from the message's) or ``"unknown"`` (not a setting command word); audits are
``(event, parameter, old, new)`` for the caller to write to the audit trail.
"""

from terminal.recorder import blocks, header_blocks, identity

# legal setting words -> (seal action, what is asked, in words)
LEGAL = {0xC2: ("clock_correction", lambda v: "recorder time {}".format(v["now"])),
         0xC3: ("set_k", lambda v: f"K {v['k']}"),
         0xC4: ("initial_mileage", lambda v: f"initial mileage {v['initial_01km']} x 0.1 km")}
REFUSAL = "a remote recorder setting {:02X}H ({}): legal parameters change only under the seal, on site"
# audit parameter -> GB/T 19056 setting command word (for the 14H parameter change blocks)
PARAMETER_WORDS = {"recorder.vin": 0x82, "recorder.plate": 0x82, "recorder.plate_class": 0x82,
                   "recorder.first_install": 0x83, "recorder.status_config": 0x84}


def _values_for(command, values):
    """The rec_param values a non-legal setting writes."""
    if command == 0x82:
        return {"vin": values["vin"], "plate": values["plate"], "plate_class": values["plate_class"]}
    if command == 0x83:
        return {"first_install_ms": values["first_install"]}
    return {"status_signals": values["signals"], "status_names": [values[f"d{i}"] for i in range(8)]}


def _audits(command, old, new):
    if command == 0x82:
        return [("parameter", "recorder." + name, old.get(name), new[name]) for name in ("vin", "plate", "plate_class")
                if old.get(name) != new[name]]
    if command == 0x83:
        if old.get("first_install_ms") == new["first_install_ms"]:
            return []
        return [("parameter", "recorder.first_install", old.get("first_install_ms"), new["first_install_ms"])]
    before = {"signals": old.get("status_signals"), "names": old.get("status_names")}
    after = {"signals": new["status_signals"], "names": new["status_names"]}
    return [] if before == after else [("parameter", "recorder.status_config", before, after)]


def download(storage, command, param):
    try:
        code, data = blocks.read_frame(param)
    except blocks.FrameError:
        return "bad", []
    if code != command:
        return "bad", []
    if code not in header_blocks.SETTING:
        return "unknown", []
    try:
        values = header_blocks.unpack(header_blocks.SETTING[code][1], data)
    except blocks.FrameError:
        return "bad", []
    if code in LEGAL:
        action, asked = LEGAL[code]
        return "refused", [("seal_refused", action, None, REFUSAL.format(code, asked(values)))]
    new = _values_for(code, values)
    old = identity.params(storage)
    audits = _audits(code, old, new)
    if not audits:
        return "unchanged", []
    identity.set_params(storage, new)
    return "applied", audits
