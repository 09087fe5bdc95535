"""The whole terminal: the loop with every device emulated, against a real broker."""
