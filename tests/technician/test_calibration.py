"""K from a measured course: the arithmetic, the 0.1 % rule, the plausible range, the stored record."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.trust import calibration as cal


def test_k_is_pulses_per_km_rounded_half_up():
    assert cal.k_from_run(1000, 6234) == 6234
    assert cal.k_from_run(2000, 12469) == 6235        # 6234.5 rounds up
    assert cal.k_from_run(2000, 12467) == 6234        # 6233.5 rounds up
    assert cal.k_from_run(3000, 18703) == 6234        # 6234.33 rounds down


@given(distance=st.integers(cal.MIN_DISTANCE_M, cal.MAX_DISTANCE_M), k=st.integers(cal.K_MIN, cal.K_MAX),
       jitter=st.integers(-499, 500))
def test_k_is_the_nearest_integer_to_the_measured_ratio(distance, k, jitter):
    pulses = (k * distance + jitter) // 1000
    if pulses < cal.MIN_PULSES:
        with pytest.raises(cal.CalibrationError, match="0.1 % resolution"):
            cal.k_from_run(distance, pulses)
        return
    try:
        got = cal.k_from_run(distance, pulses)
    except cal.CalibrationError as exc:
        assert "implausible" in str(exc)
        return
    # |got - pulses*1000/distance| <= 1/2, ties upwards
    assert 2 * abs(got * distance - pulses * 1000) <= distance
    assert not (2 * (got * distance - pulses * 1000) == -distance)


def test_a_run_too_short_for_one_permille_is_refused():
    with pytest.raises(cal.CalibrationError, match="999 pulses counted: at least 1000"):
        cal.k_from_run(1000, 999)
    with pytest.raises(cal.CalibrationError, match="course of 999 m is too short"):
        cal.k_from_run(999, 50_000)
    assert cal.resolution_ppm(1000, 1000) == 1000      # exactly 0.1 %: accepted
    assert cal.k_from_run(1000, 1000) == 1000


def test_an_implausible_k_is_refused():
    with pytest.raises(cal.CalibrationError, match=r"K = 100001 pulses/km is implausible \(expected 100..100000\)"):
        cal.k_from_run(1000, 100_001)
    with pytest.raises(cal.CalibrationError, match="K = 99 pulses/km is implausible"):
        cal.k_from_run(20_000, 1980)
    with pytest.raises(cal.CalibrationError, match="course of 100001 m is implausible"):
        cal.k_from_run(100_001, 10_000_000)


@pytest.mark.parametrize("bad", [1000.0, "1000", True, None])
def test_counts_must_be_whole_numbers(bad):
    with pytest.raises(cal.CalibrationError, match="must be a whole number"):
        cal.k_from_run(bad, 6000)
    with pytest.raises(cal.CalibrationError, match="must be a whole number"):
        cal.k_from_run(1000, bad)


def test_the_stored_record_is_what_the_export_reads():
    c = cal.Calibration.from_run(1000, 6234, 1_795_000_000_000)
    assert json.loads(c.kv_text()) == {"k": 6234, "calibrated_ms": 1_795_000_000_000, "distance_m": 1000,
                                       "pulses": 6234}
    assert cal.stored_k(c.kv_text()) == 6234
    assert cal.effective_k(1000, c.kv_text()) == 6234
    assert cal.effective_k(1000, None) == 1000


@pytest.mark.parametrize("text,why", [("{", "not JSON"), ('{"k": 5000}', "lacks k or calibrated_ms"),
                                      ('{"k": 50, "calibrated_ms": 1}', "outside 100..100000"),
                                      ('{"k": "6000", "calibrated_ms": 1}', "outside")])
def test_a_malformed_stored_record_is_refused_not_guessed(text, why):
    with pytest.raises(cal.CalibrationError, match=why):
        cal.effective_k(1000, text)
