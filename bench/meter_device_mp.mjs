// Meter firmware figures under real MicroPython 1.27 (WebAssembly): events per second through
// MeterDevice (Taximeter + hash-chained journal on a RAM flash), live heap, SHA-256 rate, and the
// time of one pure-Python P-256 scalar multiplication (the core of one ECDSA signature).
// Prints KEY VALUE lines for bench/bench_meter_link.py.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const { loadMicroPython } = await import(join(repo, "tests", "micropython", "node_modules",
  "@micropython", "micropython-webassembly-pyscript", "micropython.mjs"));
const mp = await loadMicroPython({ heapsize: 8 * 1024 * 1024, stdout: (l) => console.log(l), stderr: (l) => console.error(l) });
const copy = (src, dst, keep) => {
  mp.FS.mkdirTree(dst);
  for (const n of readdirSync(src)) if (n.endsWith(".py") && keep(n)) mp.FS.writeFile(join(dst, n), readFileSync(join(src, n)));
};
copy(join(repo, "meter"), "/app/meter", () => true);
copy(join(repo, "meter", "device"), "/app/meter/device", (n) => n !== "hw.py" && n !== "main.py");
copy(join(repo, "drivers"), "/app/drivers", (n) => ["__init__.py", "peripheral_frame.py", "meter_link_codec.py"].includes(n));
copy(join(repo, "tests"), "/app/tests", (n) => n === "__init__.py");
copy(join(repo, "tests", "meter_device"), "/app/tests/meter_device", (n) => n === "__init__.py" || n === "support.py");
// gc.collect() inside one long runPython call cannot free what that call allocated on this port,
// so the events run one JS-to-Python call each and the live heap is read in a call of its own.
mp.runPython(`
import sys, time, gc, hashlib
sys.path.insert(0, "/app")
def live():
    gc.collect()
    return gc.mem_alloc()
`);
const heap0 = mp.globals.get("live")();
mp.runPython(`
from meter.device.firmware import MeterDevice
`);
console.log("DEVICE_HEAP_CODE", mp.globals.get("live")() - heap0);
mp.runPython(`
from meter.device.flash import RamFlash
from tests.meter_device.support import device, T0
flash = RamFlash(512 * 1024)      # in RAM here; in its own flash on the device: not counted
t = [T0 + 1000]
def live():
    gc.collect()
    return gc.mem_alloc()
`);
const live = mp.globals.get("live");
const base = live();
mp.runPython(`
dev = device(flash, now=T0)
seq0 = dev.journal.seq
dev.press(t[0], "hire")
def step(i):
    t[0] += 1000
    dev.pulses(t[0], i * 11)
    dev.tick(t[0])
    dev.take()
`);
const step = mp.globals.get("step");
let peak = live() - base;
const N = 3000;
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  step(i);
  if (i % 500 === 499) { const p0 = performance.now(); peak = Math.max(peak, live() - base); }
}
const ms = performance.now() - t0;
console.log("DEVICE_EVENTS_PER_S", Math.round(N * 1000 / ms));
console.log("DEVICE_HEAP_LIVE_PEAK", peak);
mp.runPython(`
dev.press(t[0] + 1000, "settle")
dev.press(t[0] + 2000, "clear")
print("DEVICE_JOURNAL_BYTES", dev.journal.end, "GEN", dev.journal.gen, "SEQ", dev.journal.seq - seq0)
data = bytes(100)
start = time.ticks_ms()
for i in range(5000):
    hashlib.sha256(data).digest()
print("SHA256_PER_S", int(5000 * 1000 / max(1, time.ticks_diff(time.ticks_ms(), start))))

# P-256, Jacobian coordinates: k*G, the cost of one ECDSA signature
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
A = P - 3
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5

def dbl(X, Y, Z):
    if Y == 0:
        return 0, 1, 0
    S = 4 * X * Y * Y % P
    M = (3 * X * X + A * pow(Z, 4, P)) % P
    X2 = (M * M - 2 * S) % P
    return X2, (M * (S - X2) - 8 * pow(Y, 4, P)) % P, 2 * Y * Z % P

def add(X1, Y1, Z1, X2, Y2, Z2):
    if Z1 == 0:
        return X2, Y2, Z2
    if Z2 == 0:
        return X1, Y1, Z1
    U1 = X1 * Z2 * Z2 % P
    U2 = X2 * Z1 * Z1 % P
    S1 = Y1 * pow(Z2, 3, P) % P
    S2 = Y2 * pow(Z1, 3, P) % P
    if U1 == U2:
        return dbl(X1, Y1, Z1) if S1 == S2 else (0, 1, 0)
    H = U2 - U1
    R = S2 - S1
    X3 = (R * R - H ** 3 - 2 * U1 * H * H) % P
    return X3, (R * (U1 * H * H - X3) - S1 * H ** 3) % P, H * Z1 * Z2 % P

k = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
start = time.ticks_ms()
R = (0, 1, 0)
for bit in range(255, -1, -1):
    R = dbl(*R)
    if (k >> bit) & 1:
        R = add(R[0], R[1], R[2], GX, GY, 1)
zi = pow(R[2], P - 2, P)
x = R[0] * zi * zi % P
print("P256_SCALARMULT_MS", time.ticks_diff(time.ticks_ms(), start))
print("HAS_SHA512", 1 if hasattr(hashlib, "sha512") else 0)
`);
