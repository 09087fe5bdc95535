"""The cabin (application room): the driver's keys in, the driver's screen out.

``Cabin`` turns a key press into what it means in the current state (hire, pause,
settle, toll entry, print, sign-in/out, answering an on-call order) and composes the
screen: the power-on self-test, faults, notices, an order offer, the settle screen with
its extras, or the fare. It never shows the emergency alarm. The display is redrawn
only when what it shows changed (``dirty``).
"""

from __future__ import annotations


class Cabin:
    def __init__(self, term, *, selftest=None) -> None:
        self.term = term
        self.notice = None                # (text, until_ms)
        self.offer = None
        self.pending_toll = 0
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
        if name == "hire":
            if long:
                metering.key(now, "in_service" if state == "out_of_service" else "out_of_service")
            elif state == "for_hire":
                order_id, effects = orders.boarding(now)
                term.carry_out(effects, now)
                metering.key(now, "hire", order_id=order_id)
            elif state == "settling":
                self._commit_toll(now)
                metering.key(now, "clear")
            else:
                self.say("请先结算 (settle first)", now, seconds=2)
        elif name == "pause":
            metering.key(now, "resume" if state == "stopped" else "pause")
        elif name == "settle":
            if state == "settling":
                self._commit_toll(now)
            else:
                metering.key(now, "settle")
        elif name == "extra":
            if state == "settling":
                self.pending_toll += term.config["keys"]["toll_step_fen"]
                self.dirty = True
            else:
                self.say("结算时输入路桥费 (enter tolls when settling)", now, seconds=2)
        elif name == "print":
            if term.devices.spooler is not None:
                term.devices.spooler.reprint_last()
        elif name == "sign":
            metering.sign_in_out(now)
        elif name == "menu" and long and term.meter.fault:
            metering.clear_fault(now)          # the technician's action after repair, under the seal
        elif name == "menu":
            self.say(term.software_id, now, seconds=5)
        elif name == "reject" and orders.state == "on_call":
            term.carry_out(orders.driver_cancel("driver", now), now)

    def _commit_toll(self, now: int) -> None:
        if self.pending_toll:
            amount, self.pending_toll = self.pending_toll, 0
            self.term.metering.key(now, "extra", amount_fen=amount, label="路桥费")

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
        if self.notice and now >= self.notice[1]:
            self.notice = None
            self.dirty = True
        if self.selftest is not None:
            self.dirty = True
            if self.selftest.screen(now) is None:
                self.selftest = None       # power-on self-test over: the fare screen follows
        if self.dirty:
            self.refresh()

    # -- the screen -------------------------------------------------------------------------------
    def screen(self):
        """What the cabin display shows now. Never the emergency alarm."""
        from drivers.screens import FareScreen, FaultScreen, NoticeScreen, OfferScreen, SettleScreen
        term = self.term
        meter = term.meter
        v = meter.view()
        if self.selftest is not None:
            shown = self.selftest.screen(term.clock())
            if shown is not None:
                return shown
        if term.metering.refused:
            return FaultScreen("计价器软件校验失败", "E-ID")
        if v["fault"]:
            return FaultScreen(v["fault"][:40], "E-PULSE")
        if self.notice:
            return NoticeScreen(self.notice[0])
        if self.offer:
            return OfferScreen(self.offer["order_id"], self.offer["pickup"].get("address", ""), self.offer["text"])
        if v["state"] == "settling":
            extras = tuple((label, fen) for label, fen in meter.trip.extras)
            if self.pending_toll:
                extras += (("路桥费(输入)", self.pending_toll),)
            return SettleScreen(v["fare_fen"], extras)
        return FareScreen(v["state"], v["fare_fen"], v["distance_m"], v["waiting_ms"])

    def refresh(self) -> None:
        self.dirty = False
        display = self.term.devices.display
        if display is None:
            return
        screen = self.screen()
        if screen != display.screen:      # drawing text is the costly part: only what changed
            display.show(screen)
