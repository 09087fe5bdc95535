"""The meter agrees to the fen with the independent reference over random tariffs and drives."""

from tests.meter.agreement import run_case
from tests.meter.support import Lcg


def test_meter_agrees_with_reference_on_random_tariffs_and_drives():
    rng = Lcg(20261121)
    compared = 0
    for _ in range(150):
        compared += run_case(rng)
    assert compared > 3000


def test_meter_agrees_with_reference_through_dips_and_faults():
    rng = Lcg(20261129)
    compared = 0
    for _ in range(120):
        compared += run_case(rng, dips_and_faults=True)
    assert compared > 1500
