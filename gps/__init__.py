"""GNSS: NMEA bytes from a serial receiver to checked sentences, fixes, receiver health and GNSS distance."""
