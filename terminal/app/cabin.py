"""The cabin (application room): the driver's keys in, the driver's screen out.

``Cabin`` turns a key press into what it means in the current state (hire, pause,
settle, toll entry, print, sign-in/out, answering an on-call order) and composes the
screen: the power-on self-test, faults, notices, an order offer, the settle screen with
its extras and the toll being keyed in, the signed-out screen, or the fare. It never
shows the emergency alarm. The display is redrawn only when what it shows changed
(``dirty``).

Toll entry (docs/driver-ui.md) is digit by digit, on the settle screen: ``extra`` opens
it (000.0 yuan, cursor on the tens), then ``extra`` steps the digit under the cursor up
and ``accept`` steps it down (9 and 0 wrap), ``pause`` moves the cursor right (after the
jiao back to the hundreds), ``settle`` or ``hire`` adds the amount as a 路桥费 extra and
closes the entry (the next ``hire`` ends the trip), ``reject`` drops it. A 25.00 yuan toll
is 10 presses, 25.50 is 16; the digits are on the display while they are keyed.
"""

from __future__ import annotations

_SCREEN_MODULE = None     # drivers.screens, imported when the first screen is composed


def _screens():
    # once, not a from-import on every refresh (a second's refresh while driving)
    global _SCREEN_MODULE
    if _SCREEN_MODULE is None:
        import drivers.screens
        _SCREEN_MODULE = drivers.screens
    return _SCREEN_MODULE


TOLL_DIGITS = 4           # hundreds, tens, yuan, jiao: up to 999.9 yuan
TOLL_START_CURSOR = 1     # most tolls are tens of yuan


class TollEntry:
    """A toll being keyed in digit by digit (pure): ``digits`` as text, ``cursor`` the digit being set."""

    def __init__(self) -> None:
        self.digits = [0] * TOLL_DIGITS
        self.cursor = TOLL_START_CURSOR

    def up(self) -> None:
        self.digits[self.cursor] = (self.digits[self.cursor] + 1) % 10

    def down(self) -> None:
        self.digits[self.cursor] = (self.digits[self.cursor] - 1) % 10

    def next(self) -> None:
        self.cursor = (self.cursor + 1) % TOLL_DIGITS

    @property
    def text(self) -> str:
        return "".join(str(d) for d in self.digits)

    @property
    def amount_fen(self) -> int:
        return int(self.text) * 10


def toll_key_presses(amount_fen: int) -> list[str]:
    """The keys a driver presses to add a toll of ``amount_fen`` (whole jiao, under 1000 yuan) while settling."""
    if amount_fen < 0 or amount_fen % 10 or amount_fen >= 10 ** TOLL_DIGITS * 10:
        raise ValueError(f"a toll is keyed in whole jiao below 1000 yuan, got {amount_fen} fen")
    wanted = [int(c) for c in f"{amount_fen // 10:0{TOLL_DIGITS}d}"]
    keys = ["extra"]
    order = [(TOLL_START_CURSOR + i) % TOLL_DIGITS for i in range(TOLL_DIGITS)]
    last = max(i for i, pos in enumerate(order) if wanted[pos] or i == 0)
    for i, pos in enumerate(order[:last + 1]):
        if i:
            keys.append("pause")
        digit = wanted[pos]
        keys += ["extra"] * digit if digit <= 5 else ["accept"] * (10 - digit)
    return keys + ["settle"]


class Cabin:
    def __init__(self, term, *, selftest=None) -> None:
        self.term = term
        self.notice = None                # (text, until_ms)
        self.offer = None
        self.toll: TollEntry | None = None   # a toll being keyed in while settling
        self.signed_out = False             # after sign-out until the next sign-in: out of service
        self.selftest = selftest          # the power-on self-test screens, then None
        self.dirty = True

    # -- keys -------------------------------------------------------------------------------------
    def on_key(self, name: str, long: bool, now: int) -> None:
        term = self.term
        metering, orders = term.metering, term.orders
        state = term.meter.state
        if orders.state == "offered" and name in ("accept", "reject"):
            term.carry_out(orders.answer(name == "accept", now), now)
            return
        if self.toll is not None and state == "settling" and self._toll_key(name, now):
            return
        if name == "hire":
            if long:
                metering.key(now, "in_service" if state == "out_of_service" else "out_of_service")
            elif state == "for_hire":
                order_id, effects = orders.boarding(now)
                term.carry_out(effects, now)
                metering.key(now, "hire", order_id=order_id)
            elif state == "settling":
                metering.key(now, "clear")
            else:
                self.say("请先结算 (settle first)", now, seconds=2)
        elif name == "pause":
            metering.key(now, "resume" if state == "stopped" else "pause")
        elif name == "settle":
            if state != "settling":
                metering.key(now, "settle")
        elif name == "extra":
            if state == "settling":
                self.toll = TollEntry()
                self.dirty = True
            else:
                self.say("结算时输入路桥费 (enter tolls when settling)", now, seconds=2)
        elif name == "print":
            if term.devices.spooler is not None:
                term.devices.spooler.reprint_last()
        elif name == "sign":
            metering.sign_in_out(now)
            self.set_signed_out(self.signed_out_now())
        elif name == "menu" and long and term.meter.fault:
            metering.clear_fault(now)          # the technician's action after repair, under the seal
        elif name == "menu":
            self.say(term.software_id, now, seconds=5)
        elif name == "reject" and orders.state == "on_call":
            term.carry_out(orders.driver_cancel("driver", now), now)

    def _toll_key(self, name: str, now: int) -> bool:
        """A key while a toll is being keyed in; False if the key means nothing here."""
        toll = self.toll
        if name == "extra":
            toll.up()
        elif name == "accept":
            toll.down()
        elif name == "pause":
            toll.next()
        elif name in ("settle", "hire"):
            self.toll = None
            if toll.amount_fen:
                self.term.metering.key(now, "extra", amount_fen=toll.amount_fen, label="路桥费")
        elif name == "reject":
            self.toll = None
        else:
            return False
        self.dirty = True
        return True

    def signed_out_now(self) -> bool:
        """A shift was worked and none is open: the driver signed out (also across a restart)."""
        storage = self.term.storage
        return self.term.meter.shift_info is None and storage.open_shift() is None and bool(storage.shifts(last=1))

    def set_signed_out(self, signed_out: bool) -> None:
        """Signed out: the display says so and the sign shows out of service until the next sign-in."""
        if signed_out != self.signed_out:
            self.signed_out = signed_out
            self.dirty = True
            self.term.show_sign(self.term.follower.signed_out(signed_out))

    # -- messages ---------------------------------------------------------------------------------
    def say(self, text: str, now: int, seconds: int = 3) -> None:
        self.notice = (text, now + seconds * 1000)
        self.dirty = True

    def show_notice(self, text: str, now: int) -> None:
        """A text notice from the platform, shown for 15 s."""
        self.say(text, now, seconds=15)

    def show_offer(self, offer: dict | None) -> None:
        self.offer = offer
        self.dirty = True

    def periodic(self, now: int) -> None:
        if self.toll is not None and self.term.meter.state != "settling":
            self.toll = None             # settling ended some other way (power loss): the entry goes with it
            self.dirty = True
        if self.notice and now >= self.notice[1]:
            self.notice = None
            self.dirty = True
        if self.selftest is not None:
            self.dirty = True
            if self.selftest.screen(now) is None:
                self.selftest = None       # power-on self-test over: the fare screen follows
        display = self.term.devices.display
        if display is not None and display.warnings_due(self.term.reporting.fault_labels()):
            self.dirty = True
        if self.dirty:
            self.refresh()

    # -- the screen -------------------------------------------------------------------------------
    def screen(self):
        """What the cabin display shows now. Never the emergency alarm."""
        screens = _screens()
        term = self.term
        meter = term.meter
        v = meter.view()
        if self.selftest is not None:
            shown = self.selftest.screen(term.clock())
            if shown is not None:
                return shown
        refused = term.metering.refused
        if refused and refused.startswith("K not calibrated"):
            return screens.FaultScreen("未在铅封下标定K值 (K not calibrated)", "E-CAL")
        if refused:
            return screens.FaultScreen("计价器软件校验失败", "E-ID")
        if v["fault"]:
            return screens.FaultScreen(v["fault"][:40], fault_code(v["fault"]))
        if self.notice:
            return screens.NoticeScreen(self.notice[0])
        if self.offer:
            return screens.OfferScreen(self.offer["order_id"], self.offer["pickup"].get("address", ""), self.offer["text"])
        if v["state"] == "settling":
            extras = tuple((label, fen) for label, fen in meter.trip.extras)
            entry = (self.toll.text, self.toll.cursor) if self.toll is not None else ()
            return screens.SettleScreen(v["fare_fen"], extras, entry)
        if self.signed_out and v["state"] in ("for_hire", "out_of_service"):
            return screens.SignedOutScreen()
        return screens.FareScreen(v["state"], v["fare_fen"], v["distance_m"], v["waiting_ms"])

    def refresh(self) -> None:
        self.dirty = False
        display = self.term.devices.display
        if display is None:
            return
        display.set_faults(self.term.reporting.fault_labels())
        screen = self.screen()
        if screen != display.screen:      # drawing text is the costly part: only what changed
            display.show(screen)


def fault_code(reason: str) -> str:
    """The code a meter fault shows on the display, from what stopped metering: the stored legal
    data disagreeing with the chain (E-DATA), the sealed meter on the 905.2 link (E-LINK), or the
    distance sensor (E-PULSE: an implausible speed, docs/meter.md)."""
    if reason.startswith("integrity"):
        return "E-DATA"
    if "(meter link)" in reason:
        return "E-LINK"
    return "E-PULSE"
