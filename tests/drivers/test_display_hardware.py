"""A real panel's driver is installed; without the bus it is a clear error, not a crash."""

import pytest

from board.profiles import DisplaySpec
from drivers.display import DisplayError, open_display


def test_ssd1306_on_a_missing_i2c_bus_is_a_clear_display_error():
    spec = DisplaySpec(kind="ssd1306", width=128, height=64, bus="i2c", port=99, address=0x3C)
    with pytest.raises(DisplayError) as caught:
        open_display(spec)
    assert "ssd1306" in str(caught.value) and "i2c99" in str(caught.value)
