r"""`xlcrm build-addin`: the 刷新我的任务 ribbon add-in, built from xlwings' own template.

xlwings ships a ribbon add-in template (`quickstart_addin_ribbon.xlam`) whose VBA
callback `RibbonMyAddin.RunMain` runs `import <add-in name>; <add-in name>.main()`.
Naming the copy `xlcrm.xlam` makes the button run `xlcrm.main()`. Classic xlwings
(BSD), no xlwings PRO. The VBA project is copied unchanged (no binary editing).

Which Python runs: the template's VBA (`xlwings.bas`, `PROJECT_NAME = "myaddin"`)
reads its settings through `GetConfig`, first hit wins:
  1. a sheet named `myaddin.conf` in the *active* workbook, then in the add-in itself
     (keys in column A from A1 down without gaps, values in column B);
  2. a file `myaddin.conf` beside the active workbook;
  3. `%USERPROFILE%\.myaddin\myaddin.conf` (Windows) or `~/Library/Containers/
     com.microsoft.Excel/Data/myaddin.conf` (macOS);
  4. otherwise plain `python` from PATH.
It never reads the xlwings tab or `~/.xlwings/xlwings.conf`. The template ships the
sheet disabled as `_myaddin.conf`; `build_addin` renames it to `myaddin.conf` and fills
Interpreter_Win / Interpreter_Mac / PYTHONPATH. PROJECT_NAME itself stays "myaddin":
changing it would mean rewriting the compressed VBA source and its compiled p-code in
vbaProject.bin, and nothing needs it since the sheet name is all the VBA looks for.
Only the ribbon XML part, the workbook part (the sheet's name) and the conf sheet's
XML are replaced; every other part is copied byte for byte.
"""

from __future__ import annotations

import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from ..io.package import write_atomic

TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
CUSTOM_UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
CONF_SUFFIX = ".conf"


class AddinError(Exception):
    pass


def template_path() -> Path:
    try:
        import xlwings
    except ImportError as exc:  # pragma: no cover - xlwings is a dependency
        raise AddinError("xlwings 没有安装") from exc
    path = Path(xlwings.__file__).parent / TEMPLATE_NAME
    if not path.exists():
        raise AddinError(f"xlwings 安装里没有 {TEMPLATE_NAME}(需要 xlwings >= 0.33)")
    return path


def default_ribbon() -> Path:
    """macros/customUI.xml beside the package (a source checkout or an editable install)."""
    return Path(__file__).resolve().parents[2] / "macros" / "customUI.xml"


def custom_ui_part(zf: zipfile.ZipFile) -> str:
    rels = ElementTree.fromstring(zf.read("_rels/.rels"))
    for rel in rels.iter(f"{PKG}Relationship"):
        if rel.get("Type") == CUSTOM_UI_REL:
            return rel.get("Target").lstrip("/")
    raise AddinError("模板里没有 ribbon XML(customUI)")


@dataclass(frozen=True)
class AddinConfig:
    """What the add-in's conf sheet says; an empty value lets the VBA fall back."""

    interpreter_win: str = ""
    interpreter_mac: str = ""
    pythonpath: str = ""

    def entries(self) -> dict[str, str]:
        # Spelled as in the template's sheet; GetConfigFromSheet upper-cases the keys.
        return {"Interpreter_Win": self.interpreter_win, "Interpreter_Mac": self.interpreter_mac,
                "PYTHONPATH": self.pythonpath}


def package_dir() -> str:
    """The folder that holds the xlcrm package (site-packages, or a source checkout)."""
    return str(Path(__file__).resolve().parents[2])


def environment_config(platform: str | None = None, executable: str | None = None,
                       interpreter_win: str | None = None, interpreter_mac: str | None = None,
                       pythonpath: str | None = None) -> AddinConfig:
    """The settings for the Python running this code; explicit values win.

    On Windows the button should start pythonw.exe (no console window flashes up),
    which sits beside python.exe in a venv and in a python.org install.
    """
    platform = platform or sys.platform
    exe = Path(executable or sys.executable)
    win = mac = ""
    if platform.startswith("win"):
        pythonw = exe.with_name("pythonw.exe")
        win = str(pythonw if pythonw.exists() else exe)
    elif platform == "darwin":
        mac = str(exe)
    return AddinConfig(
        interpreter_win=win if interpreter_win is None else interpreter_win,
        interpreter_mac=mac if interpreter_mac is None else interpreter_mac,
        pythonpath=package_dir() if pythonpath is None else pythonpath,
    )


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    sst = ElementTree.fromstring(zf.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{MAIN}t")) for si in sst.iter(f"{MAIN}si")]


def _conf_sheet(zf: zipfile.ZipFile) -> tuple[str, str]:
    """(sheet name, part) of the template's `_<PROJECT_NAME>.conf` sheet."""
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{PKG}Relationship")}
    for sheet in workbook.iter(f"{MAIN}sheet"):
        name = sheet.get("name")
        if name.endswith(CONF_SUFFIX):
            target = targets[sheet.get(f"{REL}id")]
            return name, target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise AddinError("模板里没有 .conf 配置表")


def _template_entries(xml: bytes, strings: list[str]) -> dict[str, object]:
    """Column A -> column B of the template's conf sheet (text, booleans, numbers)."""
    entries: dict[str, object] = {}
    values: dict[str, object] = {}
    for cell in ElementTree.fromstring(xml).iter(f"{MAIN}c"):
        v = cell.find(f"{MAIN}v")
        if v is None:
            continue
        kind = cell.get("t")
        value: object = (strings[int(v.text)] if kind == "s" else v.text == "1" if kind == "b" else v.text)
        values[cell.get("r")] = value
    row = 1
    while f"A{row}" in values:  # the VBA reads A1 down to the first gap
        entries[str(values[f"A{row}"])] = values.get(f"B{row}")
        row += 1
    return entries


def _cell(ref: str, value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def conf_sheet_xml(template_xml: bytes, entries: dict[str, object]) -> bytes:
    """The template's conf sheet with its rows replaced by `entries` (A key, B value)."""
    rows = "".join(f'<row r="{i}">{_cell(f"A{i}", k)}{_cell(f"B{i}", v)}</row>'
                   for i, (k, v) in enumerate(entries.items(), start=1))
    xml = template_xml.decode("utf-8")
    xml, n = re.subn(r"<sheetData\b[^>]*>.*?</sheetData>|<sheetData\s*/>", lambda _m: f"<sheetData>{rows}</sheetData>",
                     xml, count=1, flags=re.S)
    if n != 1:
        raise AddinError("模板的配置表结构无法识别")
    xml = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:B{len(entries)}"/>', xml, count=1)
    xml = re.sub(r"<cols>.*?</cols>", '<cols><col min="1" max="1" width="18" customWidth="1"/>'
                 '<col min="2" max="2" width="80" customWidth="1"/></cols>', xml, count=1, flags=re.S)
    return xml.encode("utf-8")


def enabled_name(name: str) -> str:
    """`_myaddin.conf` -> `myaddin.conf`: the VBA reads the sheet without the underscore."""
    return name.lstrip("_")


def build_addin(out: str | Path = "xlcrm.xlam", ribbon: str | Path | None = None,
                config: AddinConfig | None = None) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".xlam" or out.stem != "xlcrm":
        # The VBA callback imports the module named after the add-in file.
        raise AddinError(f"加载项文件名必须是 xlcrm.xlam(按钮会运行「import 文件名」),而不是 {out.name}")
    ribbon = Path(ribbon) if ribbon else default_ribbon()
    if not ribbon.exists():
        raise AddinError(f"找不到 ribbon XML: {ribbon}")
    xml = ribbon.read_bytes()
    ElementTree.fromstring(xml)  # refuse a broken ribbon before writing anything
    config = config or environment_config()
    template = template_path()
    with zipfile.ZipFile(template) as src:
        replaced = {custom_ui_part(src): xml}
        name, sheet_part = _conf_sheet(src)
        conf_xml = src.read(sheet_part)
        entries = _template_entries(conf_xml, _shared_strings(src))
        entries.update(config.entries())
        replaced[sheet_part] = conf_sheet_xml(conf_xml, entries)
        workbook = src.read("xl/workbook.xml").decode("utf-8")
        quoted = f'name="{escape(name)}"'
        if quoted not in workbook:
            raise AddinError(f"模板的 workbook.xml 里找不到配置表 {name}")
        replaced["xl/workbook.xml"] = workbook.replace(quoted, f'name="{escape(enabled_name(name))}"', 1).encode("utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in src.infolist():
                    data = replaced.get(info.filename)
                    dst.writestr(info, data if data is not None else src.read(info.filename),
                                 compress_type=zipfile.ZIP_DEFLATED)

        write_atomic(out, write)
    return out
