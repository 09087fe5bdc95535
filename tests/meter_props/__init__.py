"""Property tests (hypothesis) and CPython-side checks of the taximeter core."""
