"""The simulator hands the counter each fifth of a second (sim/vehicle.py ``fifths``): the route is
integrated the same as at 1 Hz, and no pulse is lost to rounding when the pulses go in fifths."""

from types import SimpleNamespace

from sim.gnss_route import Route, Waypoint, drive
from sim.stepping import DeviceStepper
from sim.vehicle import Vehicle


def route():
    return Route([Waypoint(30.0, 120.0, 15.0), Waypoint(30.0, 120.01, 15.0, 5.0), Waypoint(30.0, 120.012, 8.0)], "t")


def test_a_second_in_fifths_ends_where_the_one_hertz_drive_does():
    v = Vehicle((30.0, 120.0))
    v.start(route())
    whole = [s.distance_m for s in drive(route(), 1.0)][1:]
    got = []
    while v.driving:
        v.step()
        got.append(v.odometer_m)
        assert abs(v.fifths[-1] - v.odometer_m) < 1e-9 and v.fifths == sorted(v.fifths)
    got = got[:len(whole)]
    assert len(got) == len(whole) and all(abs(a - b) < 1e-6 for a, b in zip(got, whole, strict=True))

class File:
    def __init__(self):
        self.count = 0

    def add(self, n):
        self.count += n


def test_kernel_pulses_in_fifths_lose_nothing_to_rounding():
    vehicle = SimpleNamespace(odometer_m=0.0)
    car = SimpleNamespace(train=None, kernel_file=File())
    stepper = DeviceStepper.__new__(DeviceStepper)
    stepper.car, stepper.vehicle, stepper._sent_m = car, vehicle, 0
    stepper.scenario = SimpleNamespace(vehicle=SimpleNamespace(k=3600))
    for i in range(1, 501):
        stepper.pulses(i * 1.7)
    assert car.kernel_file.count == int(500 * 1.7) * 3600 // 1000
