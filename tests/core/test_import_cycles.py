"""No import cycle within the package.

The import graph is read with `ast` from the package's files, so nothing is imported. Imports
under `if TYPE_CHECKING:` never count. `from pkg import name` counts `pkg`, and `pkg.name` too
when that is a module.

- Module level (what runs when a module is imported): no cycle anywhere in the package.
- With the imports inside functions too (a lazy import is still a dependency): no cycle that
  reaches into the emulator. Elsewhere only the hook cycles listed below may remain, for now.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import airflow_provider_cloudflows

PACKAGE = airflow_provider_cloudflows.__name__
ROOT = Path(airflow_provider_cloudflows.__file__).parent
EMULATOR = f"{PACKAGE}.emulator"


def _module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(body: list[ast.stmt], *, in_functions: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of a block and its nested blocks, never those under TYPE_CHECKING."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse, in_functions=in_functions)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and not in_functions:
            continue
        else:
            for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                block = getattr(node, name, None)
                if isinstance(block, list):
                    yield from _imports(block, in_functions=in_functions)


def _source_of(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph(*, in_functions: bool = False) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    files = _module_files()
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree.body, in_functions=in_functions):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _source_of(name, path.name == "__init__.py", node)
                targets = [source, *(f"{source}.{alias.name}" for alias in node.names)]
            graph[name].update(t for t in targets if t in files and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_reads_imports_as_python_runs_them() -> None:
    eager, lazy = import_graph(), import_graph(in_functions=True)
    main = f"{EMULATOR}.__main__"
    assert f"{EMULATOR}.config" in eager[main]  # at module level
    assert f"{EMULATOR}.server" not in eager[main]  # inside main() only
    assert f"{EMULATOR}.server" in lazy[main]
    assert f"{EMULATOR}.state" not in lazy[f"{EMULATOR}.server"]  # under TYPE_CHECKING only
    assert f"{EMULATOR}.services.base" in eager[f"{EMULATOR}.services.ice"]  # `from pkg.mod import name`
    assert f"{PACKAGE}.auth.acs3" in eager[f"{EMULATOR}.verify"]  # `from pkg import mod`


def test_cycles_finds_every_cycle_and_only_those() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}) == [["a", "b"], ["c", "d"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_at_module_level() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycle_counting_imports_in_functions() -> None:
    """Not even a deferred import closes a loop: every layer imports only the ones below it."""
    assert cycles(import_graph(in_functions=True)) == []
