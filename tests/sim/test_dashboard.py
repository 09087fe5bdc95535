"""The demo's dashboard stays in place in 80 columns and shows what the display and receipt show (issue 14, item 6)."""

import io
import re

from sim.dashboard import Dashboard, panel, width_of

T0 = 1795140000000


def status(**over) -> dict:
    s = {"t_ms": T0, "state": "settling", "fare_fen": 2350, "extras_fen": 500, "distance_m": 5199, "sign": "occupied",
         "speed_kmh": 0, "gnss": "fix", "outbox": 12, "platform": "alarm_release", "trips": 12, "link": True,
         "powered": True, "order": "completed", "display": "结算 合计 28.5", "warnings": ["缺纸", "脉冲故障"],
         "printer": "paper_out", "alarm": 8389632, "faults": ["speed_sensor_fault", "gnss_fault"],
         "shift": {"fares_fen": 123450, "extras_fen": 90000}}
    s.update(over)
    return s


class Screen:
    """Just enough of a terminal: rows of text, the cursor, CR, LF, ESC[nF, ESC[K; scrolls at the bottom."""

    def __init__(self, rows: int, columns: int) -> None:
        self.rows, self.columns = rows, columns
        self.lines = [""] * rows
        self.y = 0
        self.scrolled = 0

    def feed(self, text: str) -> None:
        for token in re.findall(r"\x1b\[\d*[A-Za-z]|\n|\r|[^\x1b\n\r]+", text):
            if token == "\n":
                self.y += 1
                if self.y == self.rows:
                    self.lines = self.lines[1:] + [""]
                    self.y -= 1
                    self.scrolled += 1
            elif token == "\r":
                pass
            elif token.startswith("\x1b["):
                n = int(token[2:-1] or 1)
                if token[-1] == "F":
                    self.y = max(self.y - n, 0)
                elif token[-1] == "K":
                    pass
            else:
                assert width_of(token) <= self.columns, f"{width_of(token)} columns would wrap: {token!r}"
                self.lines[self.y] = token


def test_the_panel_fits_80_columns_and_redraws_in_place():
    out = io.StringIO()
    board = Dashboard(stream=out, tty=True, columns=80)
    screen = Screen(rows=30, columns=80)
    for i in range(500):
        board(status(t_ms=T0 + i * 1000, fare_fen=2350 + i, platform="order_offer" if i % 2 else "alarm_confirm"))
        screen.feed(out.getvalue())
        out.seek(0)
        out.truncate()
    assert screen.scrolled == 0
    assert sum(1 for text in screen.lines if text) == len(panel(status(), 480))


def test_a_narrow_terminal_cuts_lines_instead_of_wrapping():
    out = io.StringIO()
    board = Dashboard(stream=out, tty=True, columns=40)
    screen = Screen(rows=10, columns=40)
    for i in range(50):
        board(status(t_ms=T0 + i * 1000))
    screen.feed(out.getvalue())
    assert screen.scrolled == 0


def test_amounts_and_distance_are_the_meters_as_display_and_receipt_show_them():
    lines = panel(status(), 480)
    text = "\n".join(lines)
    assert "fare 23.50 + extras 5.00 = total 28.50" in text
    assert "5.1 km" in text and "5.2 km" not in text             # 5,199 m as the display shows it
    assert "printer paper_out" in text and "缺纸" in text
    assert "shift 1234.50 + 900.00 = 2134.50 yuan" in text        # the shift's extras are counted
    assert all(width_of(x) <= 79 for x in lines), [width_of(x) for x in lines]


def test_without_a_tty_one_short_line_per_change():
    out = io.StringIO()
    board = Dashboard(stream=out, tty=False)
    for i in range(120):
        board(status(t_ms=T0 + i * 1000))
    board(status(t_ms=T0 + 121_000, printer="ready", warnings=[]))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3          # the first, a minute later, the printer's change


def test_gnss_trouble_is_said_in_words_not_repeated_names():
    text = "\n".join(panel(status(gnss="gnss_fault"), 480))
    assert "gnss FAULT" in text and "gnss gnss_fault" not in text
