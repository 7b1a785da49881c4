"""No import circles among fastnn's modules.

The graph is read from the sources, not from a running interpreter: every module of the package
(pkgutil.walk_packages over fastnn, and over fastnn.kernels, which setup.py installs from kernels/) is
parsed with ast, and each `import` and `from ... import` naming a fastnn module becomes an edge, with
relative imports resolved against the importing module's package. `from pkg import name` points at the
submodule pkg.name when there is one, else at pkg. Importing a submodule runs its package's __init__
first, but that implicit edge is not counted: every package would otherwise form a circle with its own
modules.

Imports inside functions count as much as module-level ones. Moving an import into a function is the
usual way to stop a circle from failing at import time; the modules still depend on each other, and
the house style asks for no circles, not for circles that happen to import cleanly. Compiled modules
(the Cython kernels) have no Python source and are left out.
"""
import ast
import importlib
import importlib.util
import pkgutil
import sys

import pytest


def package_modules(package_name):
    """{module name: source path} of a package and every module under it that has Python source."""
    package = importlib.import_module(package_name)
    names = [package_name] + [m.name for m in pkgutil.walk_packages(package.__path__, package_name + ".",
                                                                      onerror=lambda name: None)]
    sources = {}
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            sources[name] = spec.origin
    return sources


def fastnn_modules():
    """fastnn's modules, with the kernels, which an editable install keeps outside fastnn.__path__."""
    sources = package_modules("fastnn")
    sources.update(package_modules("fastnn.kernels"))
    return sources


def imported_modules(name, path, modules):
    """The modules of `modules` that the module `name` (source at `path`) imports, anywhere in its code."""
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            # `from pkg import sub` imports pkg.sub; `from pkg import name` only pkg
            targets = [t for t in targets[:-1] if t in modules] or [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:   # `import fastnn.x.attr`: the module holding it
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(modules):
    """{module: set of the modules it imports} among `modules` ({name: source path})."""
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def circles(graph):
    """Every circle of the graph, as a list of module names whose first is repeated at the end, one per
    strongly connected component of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_path_around(graph, component) for component in components]


def _path_around(graph, component):
    """One circle through the component's modules, from its first module by name back to it."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:   # breadth first: the shortest way back to start
        node = queue.pop(0)
        for child in sorted(graph[node] & component):
            if child == start:
                return paths[node] + [start]
            if child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    raise AssertionError(f"no circle through {sorted(component)}")


def describe(circle):
    return " -> ".join(circle)


@pytest.fixture(scope="module")
def graph():
    return import_graph(fastnn_modules())


def test_the_walk_finds_every_kind_of_module(graph):
    for name in ("fastnn", "fastnn.backend", "fastnn.cli.main", "fastnn.datasets.idx", "fastnn.digits.transform",
                 "fastnn.draw.server", "fastnn.inference", "fastnn.kernels.conv2d.reference", "fastnn.kernels.conv2d.numba"):
        assert name in graph, name
    assert "fastnn.inference" in graph["fastnn.draw.server"] and "fastnn.inference" in graph["fastnn.cli.predict"]
    assert "fastnn.digits" in graph["fastnn.inference"]                 # imported inside a method: counted
    assert "fastnn.kernels._scratch" in graph["fastnn.kernels.conv2d.numba"]   # `from .._scratch import`


def test_no_import_circles(graph):
    found = [describe(c) for c in circles(graph)]
    assert not found, "import circles: " + "; ".join(found)


def test_the_front_ends_do_not_import_each_other(graph):
    cli = {name for name in graph if name.startswith("fastnn.cli")}
    draw = {name for name in graph if name.startswith("fastnn.draw")}
    assert not any(graph[name] & cli for name in draw)
    assert all(graph[name] & draw <= {"fastnn.draw"} for name in cli)   # only the command that serves it


# -- the checker itself, on a package made for it ------------------------------------------------------------
PROBE = {
    "__init__.py": "",
    "a.py": "from . import b\n",
    "b.py": "def later():\n    from .sub import c\n",          # function level, through a subpackage
    "sub/__init__.py": "",
    "sub/c.py": "from .. import a\nfrom ..d import VALUE\nimport os\n",
    "d.py": "VALUE = 1\n",                                      # imported by c, imports nothing: no circle
    "e.py": "import fastnn_import_probe.d\nfrom fastnn_import_probe.sub import c\n",
}


@pytest.fixture
def probe(tmp_path, monkeypatch):
    root = tmp_path / "fastnn_import_probe"
    for name, text in PROBE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield import_graph(package_modules("fastnn_import_probe"))
    for name in [m for m in sys.modules if m.startswith("fastnn_import_probe")]:
        del sys.modules[name]


def test_the_checker_resolves_relative_and_absolute_imports(probe):
    p = "fastnn_import_probe"
    assert probe == {p: set(), f"{p}.a": {f"{p}.b"}, f"{p}.b": {f"{p}.sub.c"}, f"{p}.sub": set(),
                     f"{p}.sub.c": {f"{p}.a", f"{p}.d"}, f"{p}.d": set(), f"{p}.e": {f"{p}.d", f"{p}.sub.c"}}


def test_the_checker_names_a_circle(probe):
    p = "fastnn_import_probe"
    assert [describe(c) for c in circles(probe)] == [f"{p}.a -> {p}.b -> {p}.sub.c -> {p}.a"]
