"""The devices stepped in time with the simulated clock: pulses, the pulse counter, GNSS epochs, the spooler.

In the simulator room. On a virtual clock the terminal's own timer threads would misjudge
time, so each simulated second the runner has ``DeviceStepper`` send what the car did: the
metres driven as pulses (gpiozero pulse train or the kernel counter's file), the counter's
sample, one NMEA epoch of the vehicle's truth through the GNSS pty (silent, without fix or
with an antenna report when an incident says so), and the receipt spooler's turn, taken
synchronously when its worker thread would have woken: a job queued, the idle status poll
due, or the retry time after the printer held a job.
"""

from __future__ import annotations

from sim.devices import antenna_line
from sim.gnss_emulator import nmea_epochs
from sim.installation import Installation
from sim.scenario import Scenario
from sim.vehicle import TruthFeed, Vehicle


class DeviceStepper:
    def __init__(self, car: Installation, vehicle: Vehicle, scenario: Scenario, clock) -> None:
        self.car = car
        self.vehicle = vehicle
        self.scenario = scenario
        self.clock = clock
        self.gnss_mode = "ok"                    # "ok", "dropout" (no fix), "antenna" or "silent"
        self.antenna_pending: str | None = None  # an antenna report to send with the next epoch
        self.held_at: int | None = None          # when the printer last held a job
        self._spooled = False                    # the spooler's first turn comes unasked (jobs left from before)
        self._sent_m = 0
        self._feed = TruthFeed()
        self._feed.current = vehicle.truth(0)
        opts = {"style": scenario.vehicle.gnss_style, "seed": scenario.seed, "start_ms": scenario.start_ms}
        self._nmea_ok = nmea_epochs(self._feed, **opts)
        self._nmea_nofix = nmea_epochs(self._feed, dropouts=[(0, 10**9)], **opts)

    def pulses(self, odometer_m: float | None = None) -> None:
        """The whole metres driven since the last call (up to ``odometer_m``, the vehicle's odometer
        unless given), as pulses on the car's pulse input."""
        whole = int(self.vehicle.odometer_m if odometer_m is None else odometer_m)
        metres, self._sent_m = whole - self._sent_m, whole
        if not metres:
            return
        if self.car.train is not None:
            self.car.train.drive(metres)
        else:
            k = self.scenario.vehicle.k        # from the cumulative distance: no pulse lost to rounding per call
            self.car.kernel_file.add(whole * k // 1000 - (whole - metres) * k // 1000)

    def gnss_epoch(self) -> None:
        self._feed.current = self.vehicle.truth(self.clock() - self.scenario.start_ms)
        mode = self.gnss_mode
        if mode == "silent":
            self.car.gnss.quiet()
            return
        data = b""
        if self.antenna_pending is not None:
            data = antenna_line(self.scenario.vehicle.gnss_style, self.antenna_pending)
            self.antenna_pending = None
        _, epoch = next(self._nmea_ok if mode == "ok" else self._nmea_nofix)
        self.car.gnss.epoch(data + epoch, through_pty=self.clock.speed is not None)

    def spool(self) -> None:
        """The spooler's worker as the car runs it: a turn when a job was queued (its wake), when the
        idle status poll is due, or ``retry_s`` after the printer held a job; not a queue query a second."""
        spooler = self.car.spooler
        now = self.clock()
        if self.held_at is not None:
            if now - self.held_at < spooler.retry_s * 1000:
                return
        elif (self._spooled and not spooler._wake.is_set()
              and now - spooler._polled_ms < spooler.idle_poll_s * 1000):
            return
        self._spooled = True
        spooler._wake.clear()
        while True:
            outcome = spooler.run_once()
            if outcome == "held":
                self.held_at = self.clock()
                return
            self.held_at = None
            if outcome == "idle":
                return
