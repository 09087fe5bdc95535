"""Fix building: one fix per epoch whatever the receiver's sentence order; time never runs backwards."""

from gps.decoder import decode_bytes
from gps.fix import Fix
from gps.framer import with_checksum


def log(*bodies: str) -> bytes:
    return b"".join(with_checksum(b) for b in bodies)


def rmc(t: str, date: str = "140524", status: str = "A", knots: str = "10.0") -> str:
    return f"GNRMC,{t},{status},3015.00000,N,12009.00000,E,{knots},90.0,{date},,,A"


def gga(t: str, quality: int = 1) -> str:
    return f"GNGGA,{t},3015.00000,N,12009.00000,E,{quality},08,1.1,20.0,M,7.1,M,,"


GSA3 = "GNGSA,A,3,01,02,03,04,,,,,,,,,1.9,1.1,1.5"


def test_each_epoch_becomes_one_fix_in_either_order():
    ublox = log(rmc("000001.00"), gga("000001.00"), GSA3, rmc("000002.00"), gga("000002.00"), GSA3)
    mtk = log(gga("000001.00"), GSA3, rmc("000001.00"), gga("000002.00"), GSA3, rmc("000002.00"))
    for data in (ublox, mtk):
        fixes, stats = decode_bytes(data)
        assert [f.time_ms % 86_400_000 for f in fixes] == [1000, 2000]
        assert all(f.positioned and f.mode == 3 and f.sats == 8 and f.alt_m == 20.0 for f in fixes)
        assert stats.fixes == 2


def test_time_going_backwards_is_refused():
    fixes, stats = decode_bytes(log(rmc("000005.00"), rmc("000004.00"), rmc("000006.00")))
    assert [f.time_ms % 86_400_000 for f in fixes] == [5000, 6000]
    assert stats.fixes_rejected == 1


def test_midnight_rolls_the_date_even_before_rmc_tells_it():
    fixes, _ = decode_bytes(log(rmc("235959.00", "311224"), gga("235959.00"), gga("000000.00")))
    assert fixes[1].time_ms - fixes[0].time_ms == 1000


def test_no_fix_epochs_are_not_positioned():
    fixes, _ = decode_bytes(log(rmc("000001.00", status="V"), gga("000001.00", quality=0)))
    assert len(fixes) == 1 and not fixes[0].valid and not fixes[0].positioned and fixes[0].mode == 1


def test_moving_and_stationary():
    assert Fix(lat=1.0, lon=1.0, valid=True, mode=3, speed_mps=5.0).moving
    assert not Fix(lat=1.0, lon=1.0, valid=True, mode=3, speed_mps=0.2).moving
    assert not Fix(lat=None, lon=None, valid=False, mode=1, speed_mps=5.0).moving
