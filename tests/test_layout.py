"""The package's layout rules, run as checks: stages import only earlier stages, every subcommand has its
one module, and building the parser imports no heavy library (so `dnalm --help` and every bad-flag error
are instant)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from dnalm.cli import COMMANDS, build_parser, command_module

SRC = Path(__file__).resolve().parent.parent / "src" / "dnalm"
#: Stages in pipeline order; a module may import its own stage and earlier ones only.
STAGES = ("core", "genome", "vocab", "pretraining", "evaluation", "analysis", "report", "cli")


def dnalm_imports(source: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every `dnalm.*` import, at any depth (lazy imports count too)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dnalm"):
            names = [node.module] if node.module != "dnalm" else [f"dnalm.{a.name}" for a in node.names]
            found += [(node.lineno, name) for name in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("dnalm.")]
    return found


def layering_errors(stage: str, name: str, source: str) -> list[str]:
    """Imports of `source` (a module of `stage`) that point to a later stage."""
    errors = []
    for line, module in dnalm_imports(source):
        parts = module.split(".")
        target = parts[1] if len(parts) > 1 else ""
        if target in STAGES and STAGES.index(target) > STAGES.index(stage):
            errors.append(f"{name}:{line}: {stage} imports {module}, a later stage")
    return errors


def package_modules() -> list[tuple[str, Path]]:
    return [(p.parent.name, p) for p in sorted(SRC.glob("*/*.py")) if p.parent.name in STAGES]


def test_every_module_lives_in_a_stage():
    loose = sorted(p.name for p in SRC.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert loose == []
    assert {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()} == set(STAGES)


def test_stages_import_only_earlier_stages():
    errors = [e for stage, path in package_modules()
              for e in layering_errors(stage, str(path.relative_to(SRC)), path.read_text())]
    assert errors == []


@pytest.mark.parametrize("stage, planted", [
    ("genome", "from dnalm.analysis.window_embeddings import iter_windows\n"),
    ("vocab", "def f():\n    from dnalm.pretraining import windows\n"),
    ("core", "from dnalm import report\n"),
])
def test_the_layering_check_catches_a_later_import(stage, planted):
    assert layering_errors(stage, "planted.py", planted)


def test_every_command_is_one_module_with_its_flags_and_run():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
    for name in COMMANDS:
        module = command_module(name)
        assert module.__doc__ and callable(module.add_arguments) and callable(module.run), name
        assert Path(module.__file__).name == name.replace("-", "_") + ".py"


def test_the_parser_imports_no_heavy_library():
    code = ("import sys; from dnalm.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'torch', 'transformers', 'tokenizers', 'matplotlib', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def long_functions(source: str, limit: int = 60) -> list[str]:
    """Functions longer than `limit` lines (a reader should see a function whole)."""
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= limit]


def test_no_function_is_longer_than_60_lines():
    assert {str(p.relative_to(SRC)): found for p in SRC.rglob("*.py") if (found := long_functions(p.read_text()))} == {}
    assert long_functions("def f():\n" + "    x = 1\n" * 60) == ["f (61 lines)"]
