#!/bin/bash
# CI check of the Debian package on this machine (needs root: it installs and purges a package).
#
#   packaging/ci-check.sh [DEB]      (make deb-check; builds the package first when DEB is not given)
#
# 1. build (make deb: dpkg-deb + lintian) and install it with dpkg; check user, groups, slot layout;
# 2. systemd-analyze verify the unit (offline: this check does not need a running systemd);
# 3. run the unit's own ExecStartPre and ExecStart lines as the unit's user, on the sim board
#    against `taxiterm bench up`, until sd_notify READY=1 and a WATCHDOG=1 arrive; drive a
#    trip through `taxiterm bench` and see it at the broker and on the printer;
# 4. A/B update with a signed bundle of the next version, start again: the new slot runs;
# 5. purge and check that nothing the package made is left (the system user and groups stay,
#    as Debian keeps system accounts).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
[ "$(id -u)" -eq 0 ] || { echo "ci-check: needs root (dpkg -i / --purge)" >&2; exit 2; }

work="$(mktemp -d /tmp/taxiterm-ci.XXXXXX)"
chmod 755 "$work"
install -d -m 1777 "$work/pids"      # the service user writes its pid files here
pids=()             # background jobs of this script
real=()             # the processes they run (as the service user): each writes its pid to a file
cleanup() {
    for pid in "${real[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
started() {         # $1: pid file; waits for it and remembers the process it names
    for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
    real+=("$(cat "$1")")
    cat "$1"
}
trap cleanup EXIT
step() { echo "ci-check: $*"; }
fail() { echo "ci-check: FAILED: $*" >&2; exit 1; }

deb="${1:-}"
if [ -z "$deb" ]; then
    sh packaging/build-deb.sh "$work/out" 2>&1 | grep -v '^WARNING: Location' || fail "make deb"
    deb="$(ls "$work"/out/taxiterm_*_all.deb)"
fi
dpkg -s taxiterm >/dev/null 2>&1 && dpkg --purge taxiterm >/dev/null

step "install $deb"
apt-get install -y -qq --no-install-recommends "$(readlink -f "$deb")" >/dev/null 2>&1 || dpkg -i "$deb"
command -v taxiterm | grep -qx /usr/bin/taxiterm || fail "taxiterm not on PATH"
[ "$(readlink /opt/taxiterm/current)" = slots/a ] || fail "current does not point at slots/a"
for group in dialout gpio i2c spi; do id -nG taxiterm | tr ' ' '\n' | grep -qx "$group" || fail "taxiterm not in $group"; done
[ "$(stat -c '%U %a' /var/lib/taxiterm)" = "taxiterm 700" ] || fail "state dir not taxiterm 0700"
taxiterm --version

step "systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/taxiterm.service
if [ -d /run/systemd/system ]; then
    step "systemd runs here: systemctl would start the unit (not exercised by this script)"
else
    step "no running systemd (PID 1 is $(ps -p 1 -o comm=)): the unit's command lines are run by hand below"
fi

# The unit's own lines, with ${TAXITERM_BOARD} from /etc/default/taxiterm (set to sim here).
unit_line() { sed -n "s/^$1=//p" /lib/systemd/system/taxiterm.service; }
pre="$(unit_line ExecStartPre)"
start="$(unit_line ExecStart)"
user="$(unit_line User)"
sed -i 's/^TAXITERM_BOARD=.*/TAXITERM_BOARD=sim/' /etc/default/taxiterm
install -d -o "$user" -g "$user" -m 0700 /run/taxiterm
svc() {             # a command as the unit's user with the unit's environment, as systemd would run it
    env -i PATH=/usr/bin:/bin HOME=/var/lib/taxiterm XDG_RUNTIME_DIR=/run/taxiterm LANG=C.UTF-8 \
        TAXITERM_ROOT=/opt/taxiterm TAXITERM_STATE=/var/lib/taxiterm ${NOTIFY:+NOTIFY_SOCKET=$NOTIFY} \
        /usr/sbin/runuser -u "$user" -- "$@"
}

step "bench up (sign, printer, GNSS emulators, broker) as $user, state in /var/lib/taxiterm"
svc sh -c "echo \$\$ > $work/pids/bench.pid; exec taxiterm bench up --dir /var/lib/taxiterm/bench --state /var/lib/taxiterm" \
    > "$work/bench.log" 2>&1 &
pids+=($!)
bench_pid="$(started "$work/pids/bench.pid")"
for _ in $(seq 100); do grep -q 'bench up: ready' "$work/bench.log" && break; sleep 0.2; done
grep -q 'bench up: ready' "$work/bench.log" || { cat "$work/bench.log"; fail "bench up"; }
install -m 0640 -o root -g taxiterm /var/lib/taxiterm/bench/terminal.toml /etc/taxiterm/terminal.toml
sed -i 's|^state_dir = .*|state_dir = "/var/lib/taxiterm"|' /etc/taxiterm/terminal.toml
svc taxiterm selftest --board sim --config /etc/taxiterm/terminal.toml --display-s 0 \
    || fail "selftest on the installed package"

# Start the service's command the way systemd would and wait for READY=1 and WATCHDOG=1.
start_service() {   # $1: log file
    board="$(sed -n 's/^TAXITERM_BOARD=//p' /etc/default/taxiterm)"
    svc sh -c "$pre" || fail "ExecStartPre: $pre"
    rm -f "$work/notify.sock"
    python3 - "$work/notify.sock" > "$work/notify.log" <<'PY' &
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
import os; os.chmod(sys.argv[1], 0o666)
sock.settimeout(60)
seen = set()
while not {"READY=1", "WATCHDOG=1"} <= seen:
    for line in sock.recv(4096).decode().split("\n"):
        seen.add(line)
        print(line, flush=True)
PY
    listener=$!
    pids+=($listener)
    for _ in $(seq 50); do [ -S "$work/notify.sock" ] && break; sleep 0.1; done
    rm -f "$work/pids/service.pid"
    NOTIFY="$work/notify.sock" svc sh -c "echo \$\$ > $work/pids/service.pid; exec ${start//\$\{TAXITERM_BOARD\}/$board}" \
        > "$1" 2>&1 &
    job=$!
    pids+=($job)
    service="$(started "$work/pids/service.pid")"
    wait "$listener" || { cat "$1"; fail "no READY=1 and WATCHDOG=1 from: $start"; }
    grep -q "taxiterm: ready" "$1" || { cat "$1"; fail "no ready line"; }
}
stop_service() {     # SIGTERM to the terminal itself, as systemctl stop sends it
    kill -TERM "$service"
    wait "$job" || fail "the terminal did not stop cleanly on SIGTERM (exit status $?)"
}

step "start the service's command: $start"
start_service "$work/run1.log"
grep "taxiterm: ready" "$work/run1.log"

step "a trip through the bench socket"
bench() { svc taxiterm bench "$@"; }
bench key hire
bench drive --kmh 36 --seconds 3
bench key settle
bench key hire
for _ in $(seq 100); do grep -q '/up/trip' /var/lib/taxiterm/bench/mqtt.jsonl 2>/dev/null && break; sleep 0.1; done
grep -q '/up/trip' /var/lib/taxiterm/bench/mqtt.jsonl || fail "no trip at the broker"
ls /var/lib/taxiterm/bench/receipts/receipt_0002.txt >/dev/null || fail "no receipt printed"
stop_service

step "A/B update to the next version"
next="$(python3 -c 'import sys; a, b, c = sys.argv[1].split("."); print(f"{a}.{b}.{int(c) + 1}")' \
    "$(taxiterm --version | cut -d' ' -f2)")"
cp -a /usr/share/taxiterm/slot "$work/release"
sed -i "s/^__version__ = .*/__version__ = \"$next\"/" "$work/release/terminal/__init__.py"
chmod -R a+rX "$work/release"
svc taxiterm update build "$work/release" --key /var/lib/taxiterm/dev-keys/vendor.key --version "$next" \
    --out /var/lib/taxiterm/update.tar.gz
svc taxiterm update /var/lib/taxiterm/update.tar.gz --root /opt/taxiterm \
    --health-check "/usr/bin/taxiterm --version" 2>/dev/null
[ "$(readlink /opt/taxiterm/current)" = slots/b ] || fail "current does not point at slots/b after the update"
[ "$(taxiterm --version)" = "taxiterm $next" ] || fail "taxiterm on PATH is not the new slot"
start_service "$work/run2.log"
grep -q "ready: taxiterm $next" "$work/run2.log" || { cat "$work/run2.log"; fail "the service did not run $next"; }
grep "taxiterm: ready" "$work/run2.log"
stop_service

step "purge"
kill -TERM "$bench_pid"; wait "${pids[0]}" || fail "bench up did not stop cleanly"
dpkg --purge taxiterm >/dev/null
left=""
for path in /opt/taxiterm /var/lib/taxiterm /etc/taxiterm /run/taxiterm /usr/bin/taxiterm /usr/share/taxiterm \
        /usr/share/doc/taxiterm /lib/systemd/system/taxiterm.service /lib/udev/rules.d/60-taxiterm.rules \
        /usr/lib/tmpfiles.d/taxiterm.conf /usr/lib/sysusers.d/taxiterm.conf /etc/default/taxiterm \
        /etc/systemd/system/multi-user.target.wants/taxiterm.service /var/lib/systemd/deb-systemd-helper-enabled/taxiterm.service.dsh-also; do
    [ -e "$path" ] || [ -L "$path" ] && left="$left $path"
done
[ -z "$left" ] || fail "left after purge:$left"
dpkg -s taxiterm >/dev/null 2>&1 && fail "dpkg still knows taxiterm"
step "purged: nothing left (the taxiterm user and the gpio/i2c/spi groups stay, as Debian keeps system accounts)"
rm -rf "$work"
step "OK"
