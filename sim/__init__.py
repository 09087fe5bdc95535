"""Simulation: emulators for every serial device, the vehicle model, scenarios and the demo."""
