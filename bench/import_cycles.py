"""Import circles in tsrnn/ and tui/: every `import` and `from ... import` anywhere in a module (inside functions
too), resolved to the modules of the two packages, and the strongly connected components of that graph.

A name read through a subpackage's lazy public face (`from tsrnn.runtime import Forecaster`, its `_FACE` dict) is
resolved to the module the face names for it; `importlib.import_module("literal")` counts as an import. Left out:
imports under `if TYPE_CHECKING:` (they never run; --type-checking counts them) and under `if __name__ ==
"__main__":` (they run only when the file is run as a script, `python -m`, as the module `__main__`, never when the
module is imported; --main counts them). The implicit import of a module's parent packages is not counted (their
`__init__` faces import nothing at load).

Run: python -m bench.import_cycles [--type-checking] [--main] [--edges]
Prints one line per circle (its modules) and a last line with the count; the exit status is 0 either way.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tsrnn", "tui")


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of PACKAGES under `root`."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_main(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def import_nodes(tree: ast.AST, type_checking: bool, main: bool = False) -> Iterator[ast.AST]:
    """Every Import, ImportFrom and `import_module("...")` call in `tree`, at any depth."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and (
            (_is_type_checking(node.test) and not type_checking) or (_is_main(node.test) and not main)
        ):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom) or (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def lazy_face(tree: ast.Module) -> dict[str, str]:
    """A package's `_FACE = {"name": "module", ...}`, or {} when it has none."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "_FACE" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            return {
                k.value: v.value
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
            }
    return {}


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """`name` or its longest prefix that is a module of PACKAGES."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(root: Path, type_checking: bool = False, main: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of PACKAGES it imports."""
    modules = module_files(root)
    trees = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in modules.items()}
    faces = {name: lazy_face(tree) for name, tree in trees.items()}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in trees.items():
        is_package = modules[name].name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        for node in import_nodes(tree, type_checking, main):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_known(alias.name, modules) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in modules:
                        targets.append(full)
                    elif alias.name in faces.get(base, {}):
                        targets.append(faces[base][alias.name])
                    else:
                        targets.append(_known(base, modules))
            else:
                assert isinstance(node, ast.Call) and isinstance(node.args[0], ast.Constant)
                targets = [_known(str(node.args[0].value), modules)]
            graph[name].update(t for t in targets if t and t != name)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return sorted(found, key=lambda c: (-len(c), c))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--type-checking", action="store_true", help="count imports under `if TYPE_CHECKING:`")
    parser.add_argument("--main", action="store_true", help='count imports under `if __name__ == "__main__":`')
    parser.add_argument("--edges", action="store_true", help="also print each circle's imports")
    args = parser.parse_args()
    graph = import_graph(ROOT, type_checking=args.type_checking, main=args.main)
    found = circles(graph)
    for component in found:
        print(f"{len(component)} modules: {', '.join(component)}")
        if args.edges:
            members = set(component)
            for module in component:
                for target in sorted(graph[module] & members):
                    print(f"    {module} -> {target}")
    edges = sum(len(targets) for targets in graph.values())
    left_out = [name for name, flag in (("TYPE_CHECKING", args.type_checking), ("__main__", args.main)) if not flag]
    counted = f"{len(graph)} modules, {edges} imports"
    if left_out:
        counted += f"; {' and '.join(left_out)} imports left out"
    print(f"{len(found)} import circles in {', '.join(PACKAGES)} ({counted})")


if __name__ == "__main__":
    main()
