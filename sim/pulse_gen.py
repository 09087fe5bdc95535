"""Speed-sensor pulses on a gpiozero mock pin: what the vehicle model drives on the sim board.

``PulseTrain`` turns distance into pulses with the sensor's K (pulses per km) and drives that many
falling edges on the pin, keeping the fraction of a pulse for the next call so nothing is lost over
a long drive.
"""


class PulseTrain:
    def __init__(self, factory, pin: int, k_pulses_per_km: int) -> None:
        if isinstance(k_pulses_per_km, bool) or not isinstance(k_pulses_per_km, int) or k_pulses_per_km <= 0:
            raise ValueError(f"K must be a positive integer (pulses per km), got {k_pulses_per_km!r}")
        self.pin = factory.pin(pin)
        self.k = k_pulses_per_km
        self._residue = 0  # metres × K not yet turned into a pulse (units of 1/1000 pulse)
        self.sent = 0

    def pulses(self, n: int) -> None:
        """Drive ``n`` pulses (each a falling then a rising edge)."""
        for _ in range(n):
            self.pin.drive_low()
            self.pin.drive_high()
        self.sent += n

    def drive(self, metres: int) -> int:
        """Drive the pulses for ``metres`` more distance; returns how many were sent."""
        if metres < 0:
            raise ValueError(f"distance must not be negative, got {metres}")
        self._residue += metres * self.k
        n, self._residue = divmod(self._residue, 1000)
        self.pulses(n)
        return n
