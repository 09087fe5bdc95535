"""Errors of the taximeter core. Each says what was refused and why; nothing changed."""


class MeterError(Exception):
    """An event the meter refuses: illegal transition, bad value, time going backwards."""


class TariffError(ValueError):
    """A tariff that breaks a rule. ``field`` is the dotted path, ``rule`` what it breaks."""

    def __init__(self, field, rule):
        super().__init__(field + ": " + rule)
        self.field = field
        self.rule = rule
