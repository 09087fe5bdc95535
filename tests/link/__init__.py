"""Storage, outbox and MQTT link tests (against a real Mosquitto)."""
