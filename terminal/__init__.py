"""The terminal application: configuration, the event loop, storage, reporting and the command line.

Everything here is the imperative shell around the pure taximeter core in ``meter/``.
"""

from terminal._own_modules import check_own_modules

__version__ = "0.1.0"

check_own_modules()
