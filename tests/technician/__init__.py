"""Technician tools: calibrate K under the seal, and the device self-test."""
