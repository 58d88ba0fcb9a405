"""The layout the project keeps: vae_core never reaches up to the UI and its modules import
each other without cycles; pages/ holds only the scripts app.py routes."""
from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _vae_core_imports(path: Path, typing_too: bool = True) -> set[str]:
    """Every module a vae_core module imports, function bodies included, and with `typing_too`
    the `if TYPE_CHECKING:` blocks too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not typing_too:
        tree.body = [n for n in tree.body if not (isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test))]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y, or from . import x
                names |= {f"vae_core.{node.module}"} if node.module else {f"vae_core.{a.name}" for a in node.names}
            elif node.module:
                names.add(node.module)
    return names


def test_vae_core_imports_neither_streamlit_nor_the_ui() -> None:
    for path in (REPO / "vae_core").glob("*.py"):
        imported = {name.split(".")[0] for name in _vae_core_imports(path)}
        assert not imported & {"streamlit", "ui", "pages"}, path.name


# The one type-only import that closes a cycle: likelihoods names config's ModelConfig in its
# annotations while config imports likelihoods' tables.
TYPE_ONLY_CYCLE_EDGES = {("vae_core.likelihoods", "vae_core.config")}


def test_vae_core_modules_import_each_other_without_cycles() -> None:
    """Type-only imports count too (a type that needs a module's partner is a sign the two are one
    job or the wrong split), but for the one edge named above."""
    graph: dict[str, set[str]] = {}
    for path in (REPO / "vae_core").glob("*.py"):
        if path.stem != "__init__":
            module, at_run_time = f"vae_core.{path.stem}", _vae_core_imports(path, typing_too=False)
            graph[module] = {n for n in _vae_core_imports(path) if n.startswith("vae_core.")
                             and ((module, n) not in TYPE_ONLY_CYCLE_EDGES or n in at_run_time)}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for dependency in graph.get(module, ()):
            visit(dependency, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_pages_holds_only_the_scripts_app_routes() -> None:
    routed = set(re.findall(r'st\.Page\("(pages/[^"]+\.py)"', (REPO / "app.py").read_text(encoding="utf-8")))
    present = {f"pages/{p.name}" for p in (REPO / "pages").iterdir()}
    assert routed and present == routed
