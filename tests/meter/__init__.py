"""Taximeter core tests: plain asserts, so they run under pytest and under MicroPython."""
