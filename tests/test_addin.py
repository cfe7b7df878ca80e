"""The add-in finds its Python: the conf sheet the template's VBA reads, read back with olevba and openpyxl."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlcrm.doors.addin import AddinConfig, build_addin, environment_config, package_dir

from .conftest import run_cli


def olevba(path: Path) -> str:
    return subprocess.run([sys.executable, "-m", "oletools.olevba", "--decode", str(path)],
                          capture_output=True, text=True, timeout=120).stdout


def conf_sheets(path: Path) -> dict[str, dict[str, object]]:
    """Every sheet of the add-in as {A: B}, the way GetConfigFromSheet reads it (A1 down to a gap).

    openpyxl refuses the add-in content type, so the package is read as the .xlsm it is
    apart from that one declaration.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                assert b"ms-excel.addin.macroEnabled.main" in data
                data = data.replace(b"ms-excel.addin.macroEnabled.main", b"ms-excel.sheet.macroEnabled.main")
            dst.writestr(info, data)
    out = {}
    for read_only in (False, True):
        wb = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=read_only)
        sheets = {}
        for ws in wb.worksheets:
            entries = {}
            for a, b in ws.iter_rows(min_col=1, max_col=2, values_only=True):
                if a is None:
                    break
                entries[a.upper()] = b
            sheets[ws.title] = entries
        out = out or sheets
        assert sheets == out
    return out


@pytest.fixture(scope="module")
def vba(tmp_path_factory):
    path = tmp_path_factory.mktemp("addin") / "xlcrm.xlam"
    assert run_cli("build-addin", path).returncode == 0
    return path, olevba(path)


def project_name(code: str) -> str:
    return re.search(r'PROJECT_NAME As String = "([^"]+)"', code).group(1)


def test_the_vba_reads_the_sheet_the_addin_has(vba):
    path, code = vba
    # What the VBA looks for: wb.Sheets(PROJECT_NAME & ".conf") in the active workbook, then the add-in.
    assert 'Set sht = wb.Sheets(PROJECT_NAME & ".conf")' in code
    assert 'SheetExists(ThisWorkbook, PROJECT_NAME & ".conf")' in code
    assert 'GetConfig("INTERPRETER_WIN", "")' in code and 'GetConfig("INTERPRETER_MAC", "")' in code
    assert 'GetConfig("PYTHONPATH")' in code and "d.Add UCase(cell.Value)" in code
    sheets = conf_sheets(path)
    assert list(sheets) == [f"{project_name(code)}.conf"]  # enabled: no leading underscore


def test_the_sheet_names_this_environments_python(tmp_path):
    mac = build_addin(tmp_path / "mac" / "xlcrm.xlam", config=environment_config("darwin"))
    (sheet,) = conf_sheets(mac).values()
    assert sheet["INTERPRETER_MAC"] == sys.executable
    assert sheet["PYTHONPATH"] == package_dir()
    assert (Path(package_dir()) / "xlcrm" / "__init__.py").exists()
    # The template's other settings are kept, in their types: no UDF server, no console.
    assert sheet["USE UDF SERVER"] is False and sheet["SHOW CONSOLE"] is False
    assert not sheet["INTERPRETER_WIN"] and not sheet["CONDA PATH"]
    assert {"UDF MODULES", "DEBUG UDFS", "CONDA ENV"} <= set(sheet)


def test_windows_runs_pythonw_beside_the_interpreter(tmp_path):
    scripts = tmp_path / "venv" / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "python.exe").write_bytes(b"")
    (scripts / "pythonw.exe").write_bytes(b"")
    config = environment_config("win32", str(scripts / "python.exe"))
    assert config.interpreter_win == str(scripts / "pythonw.exe") and config.interpreter_mac == ""
    out = build_addin(tmp_path / "xlcrm.xlam", config=config)
    (sheet,) = conf_sheets(out).values()
    assert sheet["INTERPRETER_WIN"] == str(scripts / "pythonw.exe")


def test_without_pythonw_windows_falls_back_to_python(tmp_path):
    (tmp_path / "python.exe").write_bytes(b"")
    assert environment_config("win32", str(tmp_path / "python.exe")).interpreter_win == str(tmp_path / "python.exe")


def test_options_override_and_text_is_kept_exactly(tmp_path):
    out = tmp_path / "xlcrm.xlam"
    win = r"D:\Program Files & Co\<py>\pythonw.exe"
    result = run_cli("build-addin", out, "--interpreter-win", win, "--interpreter-mac", "/opt/py/bin/python3",
                     "--pythonpath", r"C:\a;C:\b")
    assert result.returncode == 0, result.stderr
    assert win in result.stdout
    (sheet,) = conf_sheets(out).values()
    assert (sheet["INTERPRETER_WIN"], sheet["INTERPRETER_MAC"], sheet["PYTHONPATH"]) == (
        win, "/opt/py/bin/python3", r"C:\a;C:\b")


def test_on_linux_the_command_says_to_name_the_python(tmp_path):
    if sys.platform in ("win32", "darwin"):
        pytest.skip("only a machine without Excel leaves both interpreters empty")
    result = run_cli("build-addin", tmp_path / "xlcrm.xlam")
    assert result.returncode == 0 and "--interpreter-win" in result.stderr


def test_only_the_ribbon_workbook_and_conf_parts_change(tmp_path):
    from xlcrm.doors.addin import template_path

    out = build_addin(tmp_path / "xlcrm.xlam", config=AddinConfig("C:\\py\\pythonw.exe"))
    with zipfile.ZipFile(template_path()) as a, zipfile.ZipFile(out) as b:
        assert a.namelist() == b.namelist()
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
    assert changed == {"customUI/customUI.xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"}
    assert olevba(out).count("VBA MACRO") == olevba(template_path()).count("VBA MACRO")
