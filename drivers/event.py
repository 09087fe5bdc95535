"""Device events (the device layer, below the application): what adapters hand to whoever listens.

Every device in ``drivers/``, ``gps/`` and ``printer/`` reports through a sink it was
given (anything with ``put``: the application passes its loop's queue) and never knows
who listens, the way a gpiozero device exposes ``when_pressed``.

Reader threads (serial, GPIO callbacks, MQTT) never touch the terminal's state; they
put an ``Event`` on the loop's queue. ``kind`` names the source and what happened,
``data`` carries plain values, ``t_ms`` is the time it happened (Unix epoch ms, from
the clock the adapter was given, so a simulation can run on a virtual clock).

Kinds in use (each adapter documents its data):
  key              {"key": "hire"|"pause"|"settle"|"print"|"extra"|"sign"|"accept"|"reject"|"menu", "long": bool}
  alarm_button     {"held_ms": int, "button": str}   hidden emergency button held past its hold time
  pulses           {"count": int}                    cumulative speed-sensor pulses since the counter started
  pulse_silent     {"active": bool, ...}             pulse line silent while GNSS says the car moves
  fix              {"fix": gps.fix.Fix}              one GNSS fix
  gnss_health      {"alarm": "gnss_fault"|"antenna_open"|"antenna_short", "active": bool}
  sign_fault       {"active": bool, "reason": str}   rooftop sign stopped answering / answers garbage
  printer_status   {"online", "paper_out", "cover_open", "paper_near_end": bool, "reason", "detail": str}
  power            {"on": bool}                      ignition / supply sense
  seal             {"closed": bool}                  seal switch under the lead seal
  platform         {"topic": str, "payload": bytes}  a downlink command from the platform
  link             {"up": bool, ...}                 MQTT connection up or down
  puback           {"mid": int, "ok": bool}          the broker acknowledged a publish
  jt_command       {"link", "protocol", "message"}   a JT/T platform command (link and puback events of a
                                                     JT/T link carry "link": its name; docs/jtt.md)
  tick             {}                                periodic wake-up of the loop
"""


class Event:
    __slots__ = ("kind", "data", "t_ms")

    def __init__(self, kind: str, t_ms: int, data: dict | None = None) -> None:
        self.kind = kind
        self.t_ms = t_ms
        self.data = data if data is not None else {}

    def __repr__(self) -> str:
        return f"Event({self.kind!r}, {self.t_ms}, {self.data!r})"
