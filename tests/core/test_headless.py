"""The core (and the command line) run without Qt, and the layers point one way.

STYLE.md: the GUI knows the core; the core never knows the GUI nor the CLI, and the GUI
never imports the CLI (shared logic belongs in the core). Checks: importing every core
module in a fresh interpreter loads no GUI library, and no source file under
playground/core (or playground/gui, for the CLI) even mentions them in an import (also
inside functions).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import playground.core

FORBIDDEN = ("PySide6", "pyqtgraph", "playground.gui", "playground.cli")
CORE_DIR = Path(playground.core.__file__).parent

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import playground.core, playground.cli
names = [m.name for m in pkgutil.walk_packages(playground.core.__path__, "playground.core.")]
for name in names:
    importlib.import_module(name)
loaded = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph") or m.startswith("playground.gui")]
print(json.dumps({"modules": names, "loaded": loaded}))
"""


def _is_forbidden(module: str, forbidden: tuple[str, ...] = FORBIDDEN) -> bool:
    return any(module == name or module.startswith(name + ".") for name in forbidden)


def test_importing_core_and_cli_loads_no_gui_library():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # the walk really found the package (a broken walk must not pass silently)
    for expected in ("playground.core.checkpoints", "playground.core.data.shapes",
                     "playground.core.models.vae", "playground.core.training.loop",
                     "playground.core.latent.sampling"):
        assert expected in report["modules"]
    assert report["loaded"] == []


def _imported_modules(path: Path, core_dir: Path = CORE_DIR) -> list[tuple[int, str]]:
    """Absolute names of everything a file imports, relative imports resolved."""
    package = ("playground." + ".".join(path.relative_to(core_dir.parent).with_suffix("").parts)).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - (node.level - 1)]
                base = ".".join(prefix + ([node.module] if node.module else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def test_no_core_source_imports_qt_pyqtgraph_or_the_gui():
    files = sorted(CORE_DIR.rglob("*.py"))
    assert len(files) > 10
    offenders = [
        f"{path.relative_to(CORE_DIR.parent)}:{line}: {module}"
        for path in files for line, module in _imported_modules(path) if _is_forbidden(module)
    ]
    assert offenders == []


def test_the_import_check_catches_a_relative_gui_import(tmp_path: Path):
    """Control: the AST check above does flag `from ..gui import x` inside a function."""
    fake_core = tmp_path / "playground" / "core"
    (fake_core / "sampling").mkdir(parents=True)
    source = fake_core / "sampling" / "bad.py"
    source.write_text("def f():\n    from ...gui import window\n    import pyqtgraph as pg\n")
    modules = [m for _, m in _imported_modules(source, fake_core)]
    assert "playground.gui" in modules and "pyqtgraph" in modules
    assert all(_is_forbidden(m) for m in ("playground.gui", "playground.gui.window", "pyqtgraph"))


def test_no_gui_source_imports_the_command_line():
    gui_dir = CORE_DIR.parent / "gui"
    files = sorted(gui_dir.rglob("*.py"))
    assert len(files) > 10
    offenders = [
        f"{path.relative_to(gui_dir.parent)}:{line}: {module}"
        for path in files for line, module in _imported_modules(path, gui_dir)
        if _is_forbidden(module, ("playground.cli",))
    ]
    assert offenders == []
