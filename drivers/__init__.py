"""Device drivers: rooftop sign, driver keys, hidden alarm buttons, driver display, pulse input."""
