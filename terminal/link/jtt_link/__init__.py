"""Platform-link room: the JT/T 808 / 905 links (TCP, sessions, outbox views) on the pure codec in ``jtt``."""
