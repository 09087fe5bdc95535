"""The legally relevant taximeter core: pure, integer, MicroPython-compatible. This is what the seal protects."""
