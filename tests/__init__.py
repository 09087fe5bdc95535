"""Tests: run with `make test`."""
