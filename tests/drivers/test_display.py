"""The driver display: golden frames, what a driver would read on them, and no alarm in the cabin.

The golden hashes pin the exact pixels with this font and Pillow; if a font or Pillow upgrade moves
a pixel, look at the PNGs (``python -m drivers.preview DIR`` draws every screen) and update them. The semantic checks below hold regardless.
"""

import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageChops

import drivers.screens as screens
from board.profiles import load_board
from drivers.display import DriverDisplay, FrameDevice, open_display, render
from drivers.event import Event
from drivers.screens import (
    AllOnScreen,
    FareScreen,
    FaultScreen,
    IdentityScreen,
    NoticeScreen,
    OfferScreen,
    ScreenError,
    SelfTest,
    SettleScreen,
    km,
    mmss,
    yuan,
)

GOLDEN = {
    (FareScreen("hired", 2350, 12345, 155000), 256):
        "8e0906fc91d26e30b8d7f86dec3853e2778d5e916e05da91a98cf8ba09784479",
    (FareScreen("hired", 2350, 12345, 155000), 128):
        "b1fcda65956e4980b827129ff65f579e807f95798a77be60a9e234ac2a3b21bb",
    (SettleScreen(4550, (("路桥费", 1000),)), 256):
        "2591fa18a10628bbd59673f9867d86325a05b02d63775f371b98062cc866bda7",
}


def digest(image: Image.Image) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def lit(image: Image.Image, box=None) -> int:
    region = (image.crop(box) if box else image).convert("L")
    return region.width * region.height - region.histogram()[0]


def differs(a: Image.Image, b: Image.Image, box=None) -> bool:
    if box:
        a, b = a.crop(box), b.crop(box)
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is not None


@pytest.mark.parametrize("screen, width", list(GOLDEN))
def test_golden_frames(screen, width):
    assert digest(render(screen, width)) == GOLDEN[(screen, width)]


def test_sim_board_display_is_the_luma_dummy():
    device = open_display(load_board("sim").display)
    assert device.size == (256, 64) and device.mode == "1"


def test_state_label_is_the_only_difference_between_states():
    frames = {state: render(FareScreen(state, 1300, 3000, 0)) for state in screens.STATE_LABELS}
    hired = frames["hired"]
    for state, frame in frames.items():
        if state == "hired":
            continue
        assert differs(frame, hired, (0, 0, 40, 18)), state  # the Chinese label
        assert not differs(frame, hired, (40, 0, 256, 64)), state  # fare, distance, waiting unchanged
        assert lit(frame, (0, 0, 40, 18)) > 30


def test_fare_change_moves_only_the_fare():
    a = render(FareScreen("hired", 1300, 3000, 0))
    b = render(FareScreen("hired", 1400, 3000, 0))
    assert differs(a, b, (60, 16, 256, 50))
    assert not differs(a, b, (0, 0, 256, 16))
    assert not differs(a, b, (0, 50, 256, 64))


def test_self_test_lights_every_pixel_then_shows_identity():
    test = SelfTest(started_ms=1_000, software_id="0.1.0 sha256:3f9a", tariff_id="T2024-03")
    assert isinstance(test.screen(1_000), AllOnScreen)
    assert isinstance(test.screen(3_999), AllOnScreen)
    frame = render(test.screen(1_000), 128)
    assert lit(frame) == 128 * 64
    identity = test.screen(4_000)
    assert identity == IdentityScreen("0.1.0 sha256:3f9a", "T2024-03")
    assert 0 < lit(render(identity, 128)) < 128 * 64 // 2
    assert test.screen(7_000) is None
    with pytest.raises(ScreenError, match="at least 3000 ms"):
        SelfTest(0, "x", "y", all_on_ms=2000)


def test_emergency_alarm_never_reaches_the_cabin_display():
    display = DriverDisplay(open_display(load_board("sim").display))
    display.show(FareScreen("hired", 2350, 12345, 155000))
    before = display.frame.tobytes()
    for event in (
        Event("alarm_button", 1, {"held_ms": 3100, "button": "alarm_a"}),
        Event("platform", 2, {"topic": "alarm/confirm", "payload": {"alarm": 1}}),
        Event("platform", 3, {"topic": "alarm/release", "payload": {}}),
    ):
        assert display.on_event(event) is False
        assert display.frame.tobytes() == before
    assert display.device.image.tobytes() == before  # what the panel got, too
    # the same path does react to device troubles, so the test above can fail
    assert display.on_event(Event("printer_status", 4, {"online": True, "paper_out": True, "cover_open": False}))
    assert display.frame.tobytes() != before
    assert display.warnings == ("缺纸",)


def test_sign_fault_and_printer_offline_warnings_come_and_go():
    display = DriverDisplay(open_display(load_board("sim").display))
    display.show(FareScreen("for_hire"))
    clean = display.frame.tobytes()
    display.on_event(Event("sign_fault", 1, {"active": True, "reason": "no answer"}))
    display.on_event(Event("printer_status", 2, {"online": False, "paper_out": False, "cover_open": False}))
    assert display.warnings == ("打印机离线", "顶灯故障")
    assert lit(display.frame, (128, 50, 256, 64)) > 50
    display.on_event(Event("sign_fault", 3, {"active": False, "reason": "answering again"}))
    display.on_event(Event("printer_status", 4, {"online": True, "paper_out": False, "cover_open": False}))
    assert display.warnings == () and display.frame.tobytes() == clean


@pytest.mark.parametrize("screen", [
    SettleScreen(4550, (("路桥费", 1000), ("燃油附加", 100), ("预约费", 500), ("停车费", 300))),
    OfferScreen("95128-0001", "人民广场地铁站2号口" * 3, "乘客带大件行李" * 5),
    NoticeScreen("明日8:00起人民路施工封闭，请绕行中山路。" * 4),
    FaultScreen("计程脉冲中断，计价已停止，请联系维修站", "E21"),
])
@pytest.mark.parametrize("width", [128, 256])
def test_every_screen_draws_inside_the_panel_on_both_sizes(screen, width):
    frame = render(screen, width)
    assert frame.size == (width, 64)
    assert lit(frame) > 200


def test_settle_total_sums_every_extra():
    assert SettleScreen(4550, (("路桥费", 1000), ("燃油附加", 100))).total_fen == 5650


def test_png_round_trip(tmp_path):
    frame = render(FareScreen("stopped", 990, 100, 61_000), 128)
    path = tmp_path / "fare.png"
    frame.save(path)
    assert Image.open(path).convert("1").tobytes() == frame.tobytes()


@pytest.mark.parametrize("screen, message", [
    (FareScreen("parked"), "unknown meter state 'parked'"),
    (FareScreen("hired", -5), "fare"),
    (FareScreen("hired", 100, 1.5), "distance"),
    (SettleScreen(100, (("", 100),)), "extra needs a label"),
])
def test_bad_screen_values_are_refused(screen, message):
    with pytest.raises(ScreenError, match=message):
        render(screen)


def test_missing_font_is_named(monkeypatch):
    monkeypatch.setattr(screens, "CJK_FONT", "/nonexistent/font.ttc")
    screens.font.cache_clear()
    try:
        with pytest.raises(ScreenError, match="/nonexistent/font.ttc"):
            render(FareScreen("hired"))
    finally:
        monkeypatch.undo()
        screens.font.cache_clear()


@given(st.integers(0, 10**9))
def test_yuan_shows_jiao_and_keeps_stray_fen(fen):
    text = yuan(fen)
    whole, _, frac = text.partition(".")
    assert int(whole) * 100 + int(frac.ljust(2, "0")) == fen
    assert len(frac) == (1 if fen % 10 == 0 else 2)


@given(st.integers(0, 10**8))
def test_km_rounds_down_to_100_m(metres):
    whole, _, tenth = km(metres).partition(".")
    assert int(whole) * 1000 + int(tenth) * 100 <= metres < int(whole) * 1000 + int(tenth) * 100 + 100


@given(st.integers(0, 10**9))
def test_mmss(ms):
    minutes, _, seconds = mmss(ms).partition(":")
    assert int(minutes) * 60 + int(seconds) == ms // 1000 and 0 <= int(seconds) < 60


def test_preview_writes_every_sample_as_png(tmp_path):
    from drivers.preview import SAMPLES, SCALE, write_all

    paths = write_all(tmp_path)
    assert len(paths) == len(SAMPLES)
    first = Image.open(paths[0])
    assert first.size == (256 * SCALE, 64 * SCALE)


def test_no_font_file_stays_mapped_between_frames():
    # FreeType maps the whole font file per size; faces held between frames grew the process
    # by about 1 MB per size after a minute of fare screens (docs/architecture.md, Memory).
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc")
    display = DriverDisplay(FrameDevice(256, 64))
    display.show(FareScreen("hired", 1234, 5600, 61000))
    display.show(SettleScreen(1234, (("路桥费", 1000),)))
    assert screens.CJK_FONT not in maps.read_text()
    assert display.frame.getbbox() is not None          # and the frame was drawn
