"""The house rules of docs/architecture.md, checked on the source: imports point downwards only, no
function-local imports below the command line, no source file over 300 lines."""
import ast
import sys
from pathlib import Path

import pytest

import gradgroup

ROOT = Path(gradgroup.__file__).parent
# package -> the gradgroup packages it may import (besides itself); errors.py and common/ are the ground
# floor: every package may import them, and common/ imports nothing of the project (nor errors).
GROUND = {"errors", "common"}
MAY_IMPORT = {
    "common": set(),
    "models": GROUND,
    "measure": {"models"} | GROUND,
    "grouping": {"measure", "models"} | GROUND,
    "data": GROUND,
    "results": GROUND,
    "config": GROUND,
    "deploy": {"grouping", "measure", "models", "data"} | GROUND,
    "inference": {"deploy", "grouping", "measure", "models", "data"} | GROUND,
    "training": {"config", "grouping", "measure", "models", "data"} | GROUND,
    "cli": set(),  # the top: anything
}
SOURCES = sorted(p for p in ROOT.rglob("*.py") if p.parent != ROOT)


def imported_packages(path: Path):
    """(line, gradgroup package) of every import in `path`, relative or absolute, at any depth."""
    parts = path.relative_to(ROOT).with_suffix("").parts  # e.g. ("data", "synthetic", "cache")
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(parts[:len(parts) - node.level])
            names = (node.module.split(".") if node.module else []) or [a.name for a in node.names][:1]
            target = (base + names)[:1]
            if target:
                yield node.lineno, target[0]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradgroup."):
            yield node.lineno, node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("gradgroup."):
                    yield node.lineno, a.name.split(".")[1]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_downwards(path):
    package = path.relative_to(ROOT).parts[0]
    if package == "cli":
        return
    allowed = MAY_IMPORT[package] | {package}
    bad = [(line, pkg) for line, pkg in imported_packages(path) if pkg not in allowed]
    if package == "training" and path.name != "run.py":
        bad += [(line, pkg) for line, pkg in imported_packages(path) if pkg == "config"]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: above {package}/ (see docs/architecture.md)"


@pytest.mark.parametrize("path", sorted((ROOT / "common").glob("*.py")), ids=lambda p: p.name)
def test_the_ground_floor_imports_only_the_standard_library_and_numpy(path):
    """common/ is imported by every layer, the light commands included: it must stay light itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level]
    bad = [m for m in names if m.split(".")[0] not in sys.stdlib_module_names | {"numpy"}]
    assert not bad, f"common/{path.name} imports {bad}: the ground floor may use the standard library and numpy only"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_local_imports_below_the_command_line(path):
    if path.relative_to(ROOT).parts[0] == "cli":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    local = [n.lineno for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not local, f"{path.relative_to(ROOT)}: imports inside functions at lines {local}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_files_stay_short(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= 300, f"{path.relative_to(ROOT)} has {n} lines; split it by job"
