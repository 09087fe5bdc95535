"""A terminal process with only its uplink half, for the last-will test.

Run as ``python -m tests.link.link_child DB CONFIG_JSON``: connects, prints "up", then
keeps reporting its position once a second until it is killed.
"""

import json
import sys
import time

from tests.link.harness import Uplink, wait_until


def main(db: str, config: str) -> None:
    uplink = Uplink(db, json.loads(config)).start()
    wait_until(lambda: uplink.link.connected, "link up")
    print("up", flush=True)
    while True:
        uplink.enqueue("location", {"speed": 0})
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
