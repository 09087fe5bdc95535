"""Board profiles: which pins, serial ports, pin factory and display a board hands to the drivers."""
