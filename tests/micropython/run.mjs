// Runs the meter/ tests (tests/meter/test_*.py) under real MicroPython 1.27 (WebAssembly port) on Node.
// Usage: node tests/micropython/run.mjs [--bench]   (from anywhere; paths are relative to the repository)
// Modules MicroPython lacks on a microcontroller (dataclasses, typing, enum, decimal, datetime, abc) are
// blocked, so a meter module that imports one fails here even though this build carries some of them.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bench = process.argv.includes("--bench");
let out = [];
const mp = await loadMicroPython({
  heapsize: 64 * 1024 * 1024,
  stdout: (line) => { console.log(line); out.push(line); },
  stderr: (line) => console.error(line),
});

function copyDir(src, dst, filter) {
  mp.FS.mkdirTree(dst);
  for (const name of readdirSync(src)) {
    if (name.endsWith(".py") && filter(name)) {
      mp.FS.writeFile(join(dst, name), readFileSync(join(src, name)));
    }
  }
}

copyDir(join(repo, "meter"), "/app/meter", () => true);
copyDir(join(repo, "tests"), "/app/tests", (n) => n === "__init__.py");
copyDir(join(repo, "tests", "meter"), "/app/tests/meter", () => true);
// the meter firmware (meter/device/) and the part of drivers/ it carries onto the device
copyDir(join(repo, "meter", "device"), "/app/meter/device", () => true);
const onDevice = ["__init__.py", "peripheral_frame.py", "meter_link_codec.py"];
copyDir(join(repo, "drivers"), "/app/drivers", (n) => onDevice.includes(n));
copyDir(join(repo, "tests", "meter_device"), "/app/tests/meter_device", () => true);
mp.FS.mkdirTree("/app/blocked");
for (const name of ["dataclasses", "typing", "enum", "decimal", "datetime", "abc", "fractions"]) {
  mp.FS.writeFile(`/app/blocked/${name}.py`,
    `raise ImportError("${name} is not available on the sealed microcontroller")\n`);
}

const testsIn = (dir) => readdirSync(join(repo, "tests", dir))
  .filter((n) => n.startsWith("test_") && n.endsWith(".py")).map((n) => dir + "." + n.slice(0, -3)).sort();
const tests = [...testsIn("meter"), ...testsIn("meter_device")];

const runner = bench ? `
import sys, time
sys.path.insert(0, "/app/blocked"); sys.path.insert(1, "/app")
from tests.meter.benchmark import events_per_s
print("EVENTS_PER_S", events_per_s(time.ticks_ms, time.ticks_diff))
` : `
import sys
sys.path.insert(0, "/app/blocked"); sys.path.insert(1, "/app")
print("MicroPython", sys.implementation.version, "running the meter tests")
passed = failed = 0
for name in ${JSON.stringify(tests)}:
    try:
        mod = __import__("tests." + name, None, None, ["*"])
    except Exception as exc:
        failed += 1
        print("FAIL import", name, type(exc).__name__, exc)
        continue
    for attr in sorted(dir(mod)):
        if attr.startswith("test_"):
            try:
                getattr(mod, attr)()
                passed += 1
            except Exception as exc:
                failed += 1
                print("FAIL", name + "." + attr, type(exc).__name__, exc)
                sys.print_exception(exc)
print("micropython: %d passed, %d failed" % (passed, failed))
`;
try {
  mp.runPython(runner);
} catch (error) {
  console.error("MicroPython error:", error.message);
  process.exit(1);
}
const summary = out.find((l) => l.startsWith("micropython: "));
if (!bench && (!summary || !/ 0 failed$/.test(summary) || / 0 passed/.test(summary))) process.exit(1);
