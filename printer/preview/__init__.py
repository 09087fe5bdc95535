"""The printer room's preview: ESC/POS bytes read back into receipts (``parse``) and drawn
as text or a PNG of the 58 mm paper (``render``). The printer emulator and
``taxiterm receipt render`` share it; it imports nothing outside ``printer/``."""
