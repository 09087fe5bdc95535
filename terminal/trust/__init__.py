"""The metrology-and-trust room: software identity, the seal, the signed audit trail, keys
and signatures, the tariff store, calibration, the inspector export and its report, and the
bench replay of a tariff. See docs/architecture.md."""
