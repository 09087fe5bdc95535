"""GNSS distance: ellipsoid accuracy, noise, parking, dropouts, jumps, and the pulse cross-check."""

import pytest

from gps.decoder import NmeaDecoder
from gps.distance import DistanceCrossCheck, GnssOdometer, geodesic_m
from gps.fix import Fix
from sim.gnss_emulator import nmea_epochs
from sim.gnss_route import drive, parked, urban_route


def test_vincenty_reference_line():
    # Vincenty (1975)'s own test line, Flinders Peak to Buninyong: 54,972.271 m
    lat1, lon1 = -(37 + 57 / 60 + 3.72030 / 3600), 144 + 25 / 60 + 29.52440 / 3600
    lat2, lon2 = -(37 + 39 / 60 + 10.15610 / 3600), 143 + 55 / 60 + 35.38390 / 3600
    assert geodesic_m(lat1, lon1, lat2, lon2) == pytest.approx(54972.271, abs=0.001)
    assert geodesic_m(30.0, 120.0, 30.0, 120.0) == 0.0
    assert geodesic_m(0.0, 0.0, 0.5, 179.7) > 19_000_000  # near-antipodal: no exception


def odometer_over(samples, **faults) -> GnssOdometer:
    decoder, odometer = NmeaDecoder(), GnssOdometer()
    for _t, data in nmea_epochs(samples, **faults):
        for item in decoder.feed(data):
            if isinstance(item, Fix):
                odometer.add(item)
    for item in decoder.flush():
        if isinstance(item, Fix):
            odometer.add(item)
    return odometer


@pytest.mark.parametrize("seed", [1, 2])
def test_urban_route_with_noise_stops_and_dropouts_within_half_a_percent(seed):
    samples = list(drive(urban_route(4000, seed=seed), 1.0))
    truth = samples[-1].distance_m
    odometer = odometer_over(samples, noise_m=3.0, seed=seed, dropouts=[(100, 8)], silences=[(200, 6)],
                             jumps=[(300, 2, 120.0)])
    assert abs(odometer.total_m - truth) / truth < 0.005
    assert odometer.counts["bridged_gaps"] >= 1 and odometer.counts["outliers"] >= 1


def test_parked_ten_minutes_accrues_nothing():
    odometer = odometer_over(list(drive(parked(600), 1.0)), noise_m=3.0, seed=5)
    assert odometer.metres <= 5


def fix(t_s: float, north_m: float, speed: float) -> Fix:
    return Fix(time_ms=int(t_s * 1000), lat=30.0 + north_m / 111_000.0, lon=120.0, speed_mps=speed,
               valid=True, mode=3, hdop=1.0)


def test_single_jump_is_rejected_and_the_track_continues():
    odometer = GnssOdometer()
    for t in range(0, 10):
        odometer.add(fix(t, 10.0 * t, 10.0))
    odometer.add(fix(10, 10.0 * 10 + 500, 10.0))  # multipath: 500 m off for one epoch
    for t in range(11, 20):
        odometer.add(fix(t, 10.0 * t, 10.0))
    assert odometer.metres == pytest.approx(190, abs=2)
    assert odometer.counts["outliers"] == 1


def test_impossible_jump_after_signal_loss_adds_nothing():
    odometer = GnssOdometer()
    for t in range(0, 5):
        odometer.add(fix(t, 10.0 * t, 10.0))
    odometer.add(fix(15, 40 + 20_000, 10.0))  # 20 km in 11 s
    assert odometer.metres == 40
    assert odometer.counts["jumps_rejected"] == 1


def test_short_gap_is_bridged_by_the_geodesic():
    odometer = GnssOdometer()
    odometer.add(fix(0, 0, 10.0))
    odometer.add(fix(20, 200, 10.0))
    assert odometer.metres == pytest.approx(200, abs=2)
    assert odometer.counts["bridged_gaps"] == 1


def test_invalid_and_absurd_fixes_add_nothing():
    odometer = GnssOdometer()
    odometer.add(fix(0, 0, 10.0))
    odometer.add(Fix(time_ms=1000, valid=False, mode=1))
    odometer.add(fix(2, 20, 300.0))
    assert odometer.metres == 0


def test_cross_check_flags_a_pulse_distance_that_disagrees():
    check = DistanceCrossCheck(window_m=1000, tolerance=0.05)
    assert check.update(0, 0) is None
    assert check.update(1000, 1010) is None          # agrees within 5 %
    event = check.update(2200, 1910)                 # 1200 m of pulses against 900 m of GNSS
    assert event == {"active": True, "ratio_permille": 1333, "pulse_m": 1200, "gnss_m": 900}
    assert check.update(3200, 2910) == {"active": False, "ratio_permille": 1000, "pulse_m": 1000, "gnss_m": 1000}
    with pytest.raises(ValueError):
        check.update(3000, 2910)
