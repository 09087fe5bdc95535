#!/bin/sh
# /usr/bin/taxiterm: run the firmware from the active A/B slot (docs/updates.md, docs/install-pi.md).
# The slot comes first on the module path, before Debian's own python3 modules, so the
# firmware's packages (gps, board, ...) and its vendored libraries win over same-named ones.
set -e
root="${TAXITERM_ROOT:-/opt/taxiterm}"
slot="$(readlink -f "$root/current" 2>/dev/null || true)"
if [ -z "$slot" ] || [ ! -d "$slot/terminal" ]; then
    echo "taxiterm: no software in $root/current (reinstall the taxiterm package)" >&2
    exit 2
fi
PYTHONPATH="$slot${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH TAXITERM_ROOT="$root"
exec /usr/bin/python3 -P -m terminal "$@"
