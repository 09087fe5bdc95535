"""Parsing: typed records, absurd values refused, and the fast path agreeing with pynmea2."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gps.parse import Gga, Pgtop, Pynmea2Parser, Rmc, SentenceParser, Txt

PARSERS = [SentenceParser, Pynmea2Parser]


@pytest.mark.parametrize("cls", PARSERS)
def test_rmc_fields(cls):
    parser = cls()
    rec = parser.parse("GBRMC,083559.25,A,3015.12345,S,12009.5,W,10.0,271.5,140524,,,D")
    assert isinstance(rec, Rmc) and rec.valid and rec.talker == "GB"
    assert rec.tod_ms == 8 * 3_600_000 + 35 * 60_000 + 59_250
    assert rec.lat == pytest.approx(-(30 + 15.12345 / 60)) and rec.lon == pytest.approx(-(120 + 9.5 / 60))
    assert rec.speed_mps == pytest.approx(10 * 1852 / 3600) and rec.course_deg == 271.5
    assert rec.day == 19857  # 2024-05-14


@pytest.mark.parametrize("cls", PARSERS)
@pytest.mark.parametrize("body, counter", [
    ("GPRMC,123519,A,9507.038,N,01131.000,E,022.4,084.4,230324,,", "absurd"),        # latitude 95
    ("GPRMC,123519,A,4807.038,N,18131.000,E,022.4,084.4,230324,,", "absurd"),        # longitude 181
    ("GPRMC,123519,A,4807.038,N,01131.000,E,9999.0,084.4,230324,,", "absurd"),       # 9,999 knots
    ("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230380,,", "absurd"),        # 1980
    ("GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,310224,,", "absurd"),        # 31 February
    ("GPRMC,253519,A,4807.038,N,01131.000,E,022.4,084.4,230324,,", "absurd"),        # hour 25
    ("GPRMC,123519,A,4807.038,N,01131.000,E,abc,084.4,230324,,", "malformed"),
    ("GPRMC,123519,A,4807.038,N,01131.000,E,022.4", "malformed"),
    ("GPRMC,123519,X,4807.038,N,01131.000,E,022.4,084.4,230324,,", "malformed"),
    ("GPGGA,123519,4807.038,N,01131.000,E,9,08,0.9,545.4,M,46.9,M,,", "malformed"),
    ("GPGGA,123519,4807.038,Q,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", "malformed"),
    ("GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,99999,M,46.9,M,,", "absurd"),
    ("GPZDA,201530.00,04,07,1980,00,00", "absurd"),
    ("GPXTE,A,A,0.67,L,N", "unknown"),
    ("QZRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230324,,", "unknown"),
    ("PUBX,00,081350.00,4717.113210,N", "unknown"),
])
def test_bad_values_are_refused_and_counted(cls, body, counter):
    parser = cls()
    assert parser.parse(body) is None
    counts = parser.stats.as_dict()
    assert counts[counter] == 1
    assert sum(counts[k] for k in ("parsed", "absurd", "malformed", "unknown")) == 1


@pytest.mark.parametrize("cls", PARSERS)
def test_every_supported_type_and_talker(cls):
    parser = cls()
    for talker in ("GP", "GN", "BD", "GB", "GL", "GA"):
        for body in ("GGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
                     "VTG,054.7,T,034.4,M,005.5,N,010.2,K,A",
                     "GSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1",
                     "GSV,2,1,08,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45",
                     "ZDA,201530.00,04,07,2024,00,00",
                     "GLL,4916.45,N,12311.12,W,225444,A,A",
                     "TXT,01,01,02,ANTSTATUS=OK"):
            assert parser.parse(talker + body) is not None, talker + body
    assert isinstance(parser.parse("PGTOP,11,2"), Pgtop)
    assert parser.stats.parsed == 43


def nmea_coordinate(value: float, width: int, decimals: int) -> str:
    deg = int(value)
    minutes = round((value - deg) * 60, decimals)
    if minutes >= 60:
        deg, minutes = deg + 1, 0.0
    return f"{deg:0{width}d}{minutes:0{3 + decimals}.{decimals}f}"


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(0, 89.99), lon=st.floats(0, 179.99), ns=st.sampled_from("NS"), ew=st.sampled_from("EW"),
       knots=st.floats(0, 200), track=st.floats(0, 359.99), quality=st.integers(0, 8), sats=st.integers(0, 24),
       hdop=st.floats(0.5, 50), alt=st.floats(-100, 9000), decimals=st.integers(1, 6),
       talker=st.sampled_from(["GP", "GN", "BD", "GB", "GL", "GA"]), status=st.sampled_from("AV"),
       seconds=st.integers(0, 86399), year=st.integers(2016, 2068), month=st.integers(1, 12), day=st.integers(1, 28))
def test_fast_parser_agrees_with_pynmea2(lat, lon, ns, ew, knots, track, quality, sats, hdop, alt, decimals,
                                         talker, status, seconds, year, month, day):
    hms = f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}.{seconds % 100:02d}"
    la, lo = nmea_coordinate(lat, 2, decimals), nmea_coordinate(lon, 3, decimals)
    bodies = [
        f"{talker}RMC,{hms},{status},{la},{ns},{lo},{ew},{knots:.3f},{track:.2f},{day:02d}{month:02d}{year % 100:02d},,,A",
        f"{talker}GGA,{hms},{la},{ns},{lo},{ew},{quality},{sats:02d},{hdop:.2f},{alt:.1f},M,7.1,M,,",
        f"{talker}VTG,{track:.2f},T,,M,{knots:.3f},N,{knots * 1.852:.3f},K,A",
        f"{talker}GLL,{la},{ns},{lo},{ew},{hms},{status},A",
        f"{talker}ZDA,{hms},{day:02d},{month:02d},{year},00,00",
    ]
    fast, reference = SentenceParser(), Pynmea2Parser()
    for body in bodies:
        a, b = fast.parse(body), reference.parse(body)
        assert type(a) is type(b), body
        if a is None:
            continue
        for name in a.__slots__:
            x, y = getattr(a, name), getattr(b, name)
            if isinstance(x, float):
                assert x == pytest.approx(y, rel=1e-9, abs=1e-9), (body, name)
            else:
                assert x == y, (body, name)
    assert fast.stats.as_dict() == reference.stats.as_dict()


field = st.one_of(st.text(alphabet="0123456789.-+ABCDEFGHIJKLMNOPQRSTUVWXYZNSEW", max_size=12), st.just(""))


@settings(max_examples=500, deadline=None)
@given(head=st.sampled_from(["GPRMC", "GNGGA", "BDVTG", "GBGSA", "GLGSV", "GAZDA", "GPGLL", "GNTXT", "PGTOP",
                             "GPXXX", "P"]),
       fields=st.lists(field, max_size=22))
def test_parsers_never_raise_and_count_every_sentence(head, fields):
    body = ",".join([head, *fields])
    for cls in PARSERS:
        parser = cls()
        record = parser.parse(body)
        counts = parser.stats.as_dict()
        assert sum(counts[k] for k in ("parsed", "absurd", "malformed", "unknown")) == 1
        assert (record is not None) == (counts["parsed"] == 1)
        if isinstance(record, (Rmc, Gga)) and record.lat is not None:
            assert -90 <= record.lat <= 90 and -180 <= record.lon <= 180


def test_text_is_kept():
    assert SentenceParser().parse("GNTXT,01,01,02,ANTSTATUS=SHORT").text == "ANTSTATUS=SHORT"
    assert isinstance(SentenceParser().parse("GPTXT,01,01,01,ANTENNA OPEN"), Txt)
