"""The driving recorder (recorder room): what GB/T 19056 asks a vehicle travelling data recorder to keep.

``core`` (pure: integers, time passed in, no I/O) turns the speed sensor, GNSS fixes,
supply and driver sign-in/out into records: speed and status every second, position
every minute, stop ("doubtful point") data at 0.2 s, overtime driving, overspeed,
driver identity and external power. ``rules`` holds the fatigue and overspeed rules,
``ring`` the bounded retention of every record. ``store`` is the SQLite adapter (ring
buffers written in batches), ``export`` the JSON lines export and the platform query,
``blocks`` the GB/T 19056 data block layouts. The loop's desk is
``terminal.app.recorder.Recorder``. See docs/recorder.md.
"""
