"""Power-fail safety: the terminal killed with SIGKILL at random points of a shift."""
