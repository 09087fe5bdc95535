"""Receipts: the receipt model and layout, and ESC/POS output through python-escpos."""
