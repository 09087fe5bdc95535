"""Framing: sentences out of a byte stream, whatever the line endings, splits and garbage."""

from hypothesis import given, settings
from hypothesis import strategies as st

from gps.framer import NmeaFramer, nmea_checksum, with_checksum

RMC = "GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"


def test_checksum_of_a_known_sentence():
    assert with_checksum(RMC) == b"$" + RMC.encode() + b"*6A\r\n"
    assert nmea_checksum(b"A" * 200) == 0  # an even number of equal bytes cancels


def test_line_endings_and_lower_case_checksum():
    framer = NmeaFramer()
    body = with_checksum(RMC)[:-2]
    stream = body + b"\r\n" + body + b"\n" + body + b"\r" + body + b"\n\r" + body.replace(b"*6A", b"*6a") + b"\n"
    assert framer.feed(stream) == [RMC] * 5
    assert framer.stats.sentences == 5 and framer.stats.parsed == 0


def test_garbage_before_a_sentence_is_skipped_and_counted():
    framer = NmeaFramer()
    out = framer.feed(b"\xb5\x62\x01\x07noise" + with_checksum(RMC) + b"xx$GPGGA,12" + with_checksum(RMC))
    assert out == [RMC, RMC]
    assert framer.stats.garbage_bytes == 11  # 9 before the first, "xx" before the cut one
    assert framer.stats.malformed == 1  # the sentence cut off by the next "$"


def test_bad_and_missing_checksums_are_rejected_unless_allowed():
    framer = NmeaFramer()
    assert framer.feed(b"$" + RMC.encode() + b"*6B\r\n$" + RMC.encode() + b"\r\n") == []
    assert framer.stats.checksum_rejected == 1 and framer.stats.missing_checksum == 1
    lenient = NmeaFramer(allow_missing_checksum=True)
    assert lenient.feed(b"$" + RMC.encode() + b"\r\n") == [RMC]
    assert lenient.stats.unchecked == 1


def test_over_long_lines_are_dropped_even_across_reads():
    framer = NmeaFramer(max_length=82)
    long_body = "GPGSV," + "1" * 100
    framer.feed(with_checksum(long_body)[:50])
    out = framer.feed(with_checksum(long_body)[50:] + with_checksum(RMC))
    assert out == [RMC]
    assert framer.stats.overlong == 1


def test_unterminated_last_line_is_checked_at_the_end():
    framer = NmeaFramer()
    assert framer.feed(with_checksum(RMC)[:-2]) == []
    assert framer.flush() == [RMC]


sentences = st.sampled_from([with_checksum(RMC), with_checksum("GNTXT,01,01,02,ANTSTATUS=OK"),
                             b"$GPGGA,1*00\r\n", b"$GPRMC,no,checksum\r\n", b"\r\n", b"\x00\xff$$"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(sentences, st.binary(max_size=40)), max_size=30), st.data())
def test_any_bytes_any_split_never_raise_and_counts_add_up(parts, data):
    stream = b"".join(parts)
    whole = NmeaFramer()
    expected = whole.feed(stream) + whole.flush()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    split = NmeaFramer()
    got, last = [], 0
    for cut in cuts + [len(stream)]:
        got += split.feed(stream[last:cut])
        last = cut
    got += split.flush()
    assert got == expected
    for framer in (whole, split):
        stats = framer.stats
        assert stats.sentences == stats.outcomes_total() + len(expected)
        assert all(isinstance(body, str) and body.isprintable() for body in expected)
