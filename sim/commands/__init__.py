"""The simulator's subcommands of ``taxiterm`` (``sim``, ``emulate``).

They register themselves through the ``taxiterm.commands`` entry point (pyproject.toml),
so the product's command line never imports the simulator; a build without ``sim/``
simply has no such commands.
"""
