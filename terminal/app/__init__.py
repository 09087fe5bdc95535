"""The application room: the one loop that owns the state, its collaborators (metering,
reporting, platform commands, the cabin, the alarm and order desks, daily statistics) and
the wiring that starts it on a board (``runtime``). See docs/architecture.md."""
