"""Subcommands of ``taxiterm``: one module each, each with ``register(subparsers)``."""
