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
    "config": {"data", "grouping"} | GROUND,  # only their choice lists: see CONFIG_READS below
    "deploy": {"grouping", "measure", "models", "data"} | GROUND,
    "inference": {"deploy", "grouping", "measure", "models", "data"} | GROUND,
    "jobs": GROUND,  # job-keeping: the run dir's lock and record, signals, SLURM, the launcher watch
    "training": {"config", "grouping", "measure", "models", "data", "jobs"} | GROUND,
    "search": {"deploy", "grouping", "measure", "models", "data"} | GROUND,
    "cli": set(),  # the top: anything
}
# config/ is imported by the light commands: from the packages below it, it reads only the modules that
# state a closed choice (standard library only), so the schema is the choice's enum without a second list.
CONFIG_READS = {"data": "gradgroup.data.choices", "grouping": "gradgroup.grouping.schedules"}
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


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.py")), ids=lambda p: p.name)
def test_config_reads_only_the_choice_lists_below_it(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and (node.module or "").split(".")[0] in CONFIG_READS:
            package = node.module.split(".")[0]
            assert f"gradgroup.{node.module}" == CONFIG_READS[package], f"config/{path.name}:{node.lineno}"


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


TESTS = sorted(Path(__file__).parent.glob("*.py"))
CLI_SURFACE = {"main", "install"}  # a console script's entry point; quiet.install, which every one runs first


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_tests_use_the_command_line_only_as_commands(path):
    """Library code lives below cli/ (issue 15): a test may run a command's `main` (or the CLI's warning
    filters), never import a helper from cli/; helpers the tests need belong to the library."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "gradgroup.cli":
            modules |= {a.asname or a.name for a in node.names}  # `from gradgroup.cli import table as t`
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradgroup.cli."):
            bad += [(node.lineno, a.name) for a in node.names if a.name not in CLI_SURFACE]
        elif isinstance(node, ast.Import):
            bad += [(node.lineno, a.name) for a in node.names if a.name.startswith("gradgroup.cli")]
    bad += [(n.lineno, f"{n.value.id}.{n.attr}") for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id in modules and n.attr not in CLI_SURFACE]
    assert not bad, f"{path.name} takes {bad} from gradgroup.cli: move it into the library and import it there"


PLUGINS = Path(gradgroup.__file__).parents[1] / "hydra_plugins"
PLUGIN_SOURCES = sorted(PLUGINS.rglob("*.py"))
PLUGIN_MAY_IMPORT = {"search", "results", "config", "common", "errors", "jobs"}  # the plugins sit beside cli/, never on it


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: str(p.relative_to(PLUGINS)))
def test_the_hydra_plugins_import_only_the_library_below_the_command_line(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    mods = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level]
    mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    bad = [m for m in mods if m.startswith("gradgroup.") and m.split(".")[1] not in PLUGIN_MAY_IMPORT]
    assert not bad, f"hydra_plugins/{path.relative_to(PLUGINS)} imports {bad}"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 300


def test_nothing_in_the_library_imports_the_hydra_plugins():
    bad = [str(p.relative_to(ROOT)) for p in SOURCES if "hydra_plugins" in
           {getattr(n, "module", None) or "" for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
            if isinstance(n, ast.ImportFrom)} | {a.name.split(".")[0] for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                                                  if isinstance(n, ast.Import) for a in n.names}]
    assert not bad
