"""The storage room: the terminal's one SQLite database (``database``) and the receipt
queue kept in it (``receipt_jobs``). See docs/storage.md."""
