"""Our meter as firmware of its own microcontroller (RP2040 class), see docs/meter-device.md."""
