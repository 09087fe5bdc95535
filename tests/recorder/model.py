"""A vehicle model for the recorder's tests: a speed profile driven through the core as a pulse sensor would."""

from terminal.recorder.core import RecorderCore

K = 1000                       # pulses per km: 1 pulse per metre
T0 = 1_795_000_020_000         # a whole minute


def drive(core: RecorderCore, profile, *, start=T0, period_ms=200, k=K, gnss=False, pos=(22543096, 114057865, 10),
          frozen=False):
    """Drive ``profile`` (a list of (duration_ms, speed_01)) through ``core``; returns (records, end time).

    The pulse count is integrated exactly (in micro-pulses) so the sensor reads what the vehicle did.
    The fixes move east by 1e-6 degree a metre (unless ``frozen``: a receiver stuck on one place).
    """
    out = []
    t = start
    num = 0                    # pulses x 36,000,000 (exact)
    for duration, speed in profile:
        end = t + duration
        while t < end:
            step = min(period_ms, end - t)
            # speed 0.1 km/h for step ms -> metres = speed * step / 36,000; pulses = metres * k / 1000
            num += speed * step * k
            t += step
            out += core.advance(t)
            here = pos if frozen else (pos[0], pos[1] + num * 1000 // (36_000_000 * k), pos[2])
            if gnss:
                core.fix(t, speed, here)
            else:
                core.pulses(t, num // 36_000_000, k)
                if t % 1000 == 0:
                    core.fix(t, speed, here)
                out += core.advance(t)     # the reading just taken is in: its sample now (as the desk does)
    return out, t


def of(records, kind):
    return [r for r in records if r[0] == kind]
