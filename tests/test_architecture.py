"""The layout's promises, checked on the source: the core is pure, the vocabulary is declared once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from xlcrm.core import vocab
from xlcrm.core.messages import DEFAULT_TEMPLATES

from .conftest import ROOT

PACKAGE = ROOT / "xlcrm"
FORBIDDEN_IN_CORE = ("xlcrm.io", "xlcrm.doors", "openpyxl", "xlsxwriter", "xlwings", "click", "tqdm",
                     "zipfile", "python_calamine", "fastexcel", "os", "shutil", "pathlib", "tempfile")


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{alias.name}" for alias in node.names)
    return out


def violations(path: Path) -> list[str]:
    return sorted(m for m in imported_modules(path)
                  if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_CORE))


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_imports_nothing_from_io_doors_or_file_libraries(path):
    assert violations(path) == []


def test_the_contract_catches_a_core_module_importing_openpyxl(tmp_path):
    bad = PACKAGE / "core" / "_contract_probe.py"
    bad.write_text("from openpyxl import load_workbook\nfrom ..io import schema\n", encoding="utf-8")
    try:
        assert violations(bad) == ["openpyxl", "openpyxl.load_workbook", "xlcrm.io", "xlcrm.io.schema"]
    finally:
        bad.unlink()


def test_every_task_family_has_its_module_and_every_kind_a_template():
    families = {k.family for k in vocab.TASK_KINDS}
    for family in families:
        assert (PACKAGE / "core" / "tasks" / f"{family}.py").exists(), family
    assert set(DEFAULT_TEMPLATES) == set(vocab.KIND)
    assert all(k.logs_as in vocab.PURPOSES for k in vocab.TASK_KINDS)


def test_status_and_kind_strings_are_spelled_only_in_the_vocabulary():
    # Strings that are vocabulary, not prose: a module that compares or writes them bare
    # would break silently when the vocabulary changes.
    words = {vocab.SLEEPING, vocab.DUE_TODAY, vocab.NORMAL, vocab.CADENCE_CALL, vocab.REF_NEW,
             vocab.REF_CLOSED, vocab.REF_CONTACTED}
    for path in PACKAGE.rglob("*.py"):
        if path.name in ("vocab.py", "messages.py"):  # messages: the default SMS texts per kind
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in words, f"{path.relative_to(ROOT)}:{node.lineno} spells {node.value!r}"


def test_udfs_keep_their_import_path_for_the_addin():
    # xlwings' import_udfs registers what it finds in dir() of the module the add-in names.
    import xlcrm.udfs
    from xlcrm.doors import udfs

    names = sorted(n for n in dir(udfs) if n.startswith("crm_"))
    assert len(names) == 7
    assert all(getattr(xlcrm.udfs, n) is getattr(udfs, n) for n in names)
