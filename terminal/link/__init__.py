"""The platform-link room: uplink payloads and their schemas, the durable outbox, the MQTT
link and the parsing of downlink commands; the standard JT/T protocols live beside MQTT
here. Nothing in this room knows the meter or the loop. See docs/architecture.md."""
