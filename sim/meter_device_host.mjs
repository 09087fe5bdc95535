// The meter device emulator's host (simulator room): runs the real meter firmware
// (meter/device/firmware.py and the meter core) under real MicroPython 1.27 (WebAssembly).
// Its flash is a file, written byte-exact at the offsets the firmware writes (so killing this
// process cuts the power between two writes or inside one). Its UART, pulse line, keys, supply
// and seal inputs come from the Python side (sim/meter_device.py) as JSON lines on stdin;
// what the firmware sends on its UART goes out as JSON lines on stdout.
//
//   node sim/meter_device_host.mjs --flash FILE [--size BYTES] [--now MS] [--setup JSON]
//   stdin:  {"t": ms, "uart": "hex"} | {"t", "pulses": n} | {"t", "key": name} | {"t", "power": bool}
//           {"t", "seal": bool} | {"t", "tick": true} | {"stats": true}
//   stdout: {"ready": true, "software_id": hex} then per line {"uart": hex, "state": meter state, "error"?: text, ...}
// Time: every command carries the simulated time "t" (ms); the firmware has no clock of its own here,
// so the clock-set command (0x0001) is answered and the injected time is the device's time.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeSync, fstatSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const { loadMicroPython } = await import(join(repo, "tests", "micropython", "node_modules",
  "@micropython", "micropython-webassembly-pyscript", "micropython.mjs"));

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const flashPath = arg("--flash");
const size = parseInt(arg("--size", String(256 * 1024)), 10);
const now0 = parseInt(arg("--now", "0"), 10);
const setup = arg("--setup", "{}");
if (!flashPath) { console.error("--flash FILE is required"); process.exit(2); }
if (!existsSync(flashPath) || fstatSync(openSync(flashPath, "r")).size !== size) {
  const fd = openSync(flashPath, "w"); writeSync(fd, Buffer.alloc(size, 0xff)); closeSync(fd);
}
const fd = openSync(flashPath, "r+");

const mp = await loadMicroPython({ heapsize: 256 * 1024, stdout: (l) => process.stderr.write(l + "\n"),
  stderr: (l) => process.stderr.write(l + "\n") });
mp.registerJsModule("host", {
  flash_read: (off, n) => { const b = Buffer.alloc(n); readSync(fd, b, 0, n, off); return b.toString("hex"); },
  flash_write: (off, hex) => { const b = Buffer.from(hex, "hex"); writeSync(fd, b, 0, b.length, off); },
});

const copy = (src, dst, keep) => {
  mp.FS.mkdirTree(dst);
  for (const name of readdirSync(src)) if (name.endsWith(".py") && keep(name)) mp.FS.writeFile(join(dst, name), readFileSync(join(src, name)));
};
copy(join(repo, "meter"), "/app/meter", () => true);
copy(join(repo, "meter", "device"), "/app/meter/device", (n) => n !== "hw.py" && n !== "main.py");
copy(join(repo, "drivers"), "/app/drivers", (n) => ["__init__.py", "peripheral_frame.py", "meter_link_codec.py"].includes(n));
copy(join(repo, "sim"), "/app/sim", (n) => ["__init__.py", "meter_device_commands.py"].includes(n));   // the host's, not the firmware's

mp.runPython(`
import sys, json, gc, binascii
sys.path.insert(0, "/app")
import host
from meter.device.firmware import MeterDevice, software_id
from sim.meter_device_commands import apply

class HostFlash:
    """The emulator's flash: NOR semantics kept here, bytes persisted by the host at each write."""
    def __init__(self, size):
        self.size = size
    def read(self, off, n):
        return binascii.unhexlify(host.flash_read(off, n))
    def write(self, off, data):
        old = self.read(off, len(data))
        host.flash_write(off, binascii.hexlify(bytes(a & b for a, b in zip(old, data))).decode())
    def erase(self, off, n):
        step = 4096
        while n > 0:
            k = min(step, n)
            host.flash_write(off, "ff" * k)
            off += k
            n -= k

def _files():
    out = []
    for d in ("/app/meter", "/app/meter/device", "/app/drivers"):
        import os
        for name in sorted(os.listdir(d)):
            if name.endswith(".py"):
                with open(d + "/" + name, "rb") as f:
                    out.append((d[5:] + "/" + name, f.read()))
    return out

SETUP = json.loads(${JSON.stringify(setup)})
CODE_ID = software_id(_files())
gc.collect()
dev = MeterDevice(HostFlash(${size}), SETUP["tariffs"], SETUP["profile"], ${now0}, params=SETUP.get("params"),
                  code_id=CODE_ID)

def handle(line):
    cmd = json.loads(line)
    out = {}
    try:
        apply(dev, cmd)
        if "stats" in cmd:
            gc.collect()      # inside a call this port cannot free that call's garbage: bench/ measures the heap
            out["heap_now"] = gc.mem_alloc()
            out["journal_head"] = binascii.hexlify(dev.journal.head).decode()
            out["journal_bytes"] = dev.journal.end
            out["state"] = dev.meter.state
            out["pending"] = [r["trip_no"] for r in dev.pending]
            out["trips"] = dev.meter.totals.hirings
            out["odometer"] = dev.meter.odometer.reading
    except Exception as exc:
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
    out["state"] = dev.meter.state
    out["uart"] = binascii.hexlify(dev.take()).decode()
    return json.dumps(out)
`);
const handle = mp.globals.get("handle");
mp.runPython("SID = binascii.hexlify(dev.code_id).decode()");
const sid = mp.globals.get("SID");
process.stdout.write(JSON.stringify({ ready: true, software_id: sid }) + "\n");
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => { if (line.trim()) process.stdout.write(handle(line) + "\n"); });
rl.on("close", () => process.exit(0));
