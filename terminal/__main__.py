"""``python -m terminal``: the same command line as ``taxiterm``."""

from terminal.cli import main

raise SystemExit(main())
