"""Retention of every record (recorder room, pure): how many of each are kept and where each goes.

A ring buffer in SQLite is a table whose primary key is a slot: writing slot ``n %
capacity`` replaces the oldest entry, so a table never holds more than its capacity and
needs no clean-up pass. Time series (speed per minute of seconds, position per minute)
take their slot from the minute itself, so a rewrite of the current minute lands on the
same row; event records take it from a running sequence number.

Capacities follow GB/T 19056 (as open implementations of it state them; the standard's
text was not read): 48 h of speed, 360 h of positions, 100 stops, 100 overtime driving
records, 200 driver identity records, 100 external power records, 10 speed status logs; one extra hour of the
time series so that the full retention is held even while the current minute fills.
"""

MINUTE_MS = 60_000

SPEED_MINUTES = 49 * 60        # >= 48 h of one-second records
POSITION_MINUTES = 361 * 60    # >= 360 h of one-minute positions

EVENT_CAPACITY = {
    "stop": 100,
    "overtime": 100,
    "overspeed": 100,
    "driver": 200,
    "power": 100,
    "speed_status": 10,
}


def minute_of(t_ms):
    """The start (epoch ms) of the minute holding ``t_ms``."""
    return t_ms - t_ms % MINUTE_MS


def minute_slot(t_ms, capacity):
    return (t_ms // MINUTE_MS) % capacity


def event_slot(seq, kind):
    return seq % EVENT_CAPACITY[kind]
