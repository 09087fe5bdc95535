"""The simulator's modules stay small and import each other one way (docs/architecture.md, the simulator)."""

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "sim"
MAX_LINES = 400


def sim_modules() -> dict[str, Path]:
    modules = {}
    for path in SIM.rglob("*.py"):
        parts = path.relative_to(SIM.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def sim_imports(path: Path, known: set[str]) -> set[str]:
    """Every sim module ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n in known)
    return found


def test_no_simulator_module_is_over_400_lines():
    long = {name: n for name, path in sim_modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (module -> modules it imports), or None."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return None
        for dep in sorted(graph[name]):
            cycle = visit(dep, path + [name])
            if cycle:
                return cycle
        done.add(name)
        return None

    for name in sorted(graph):
        cycle = visit(name, [])
        if cycle:
            return cycle
    return None


def test_simulator_modules_import_each_other_without_cycles():
    modules = sim_modules()
    graph = {name: sim_imports(path, set(modules)) - {name} for name, path in modules.items()}
    assert graph["sim.runner"] >= {"sim.shift_clock", "sim.installation"}   # the graph is really read
    assert find_cycle(graph) is None


def test_the_checks_find_an_import_cycle(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def late():\n    from sim import b\n")
    b.write_text("import sim.a\n")
    graph = {"sim.a": sim_imports(a, {"sim.a", "sim.b"}), "sim.b": sim_imports(b, {"sim.a", "sim.b"})}
    assert find_cycle(graph) == ["sim.a", "sim.b", "sim.a"]
    assert find_cycle({"sim.a": {"sim.b"}, "sim.b": set()}) is None
