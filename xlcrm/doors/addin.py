"""`xlcrm build-addin`: the 刷新我的任务 ribbon add-in, built from xlwings' own template.

xlwings ships a ribbon add-in template (`quickstart_addin_ribbon.xlam`) whose VBA
callback `RibbonMyAddin.RunMain` runs `import <add-in name>; <add-in name>.main()`.
Naming the copy `xlcrm.xlam` makes the button run `xlcrm.main()`. Only the ribbon XML
part is replaced (with `macros/customUI.xml`); the VBA project is copied unchanged,
so no binary editing is needed. Classic xlwings (BSD), no xlwings PRO.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from defusedxml import ElementTree

TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
CUSTOM_UI_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


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


def build_addin(out: str | Path = "xlcrm.xlam", ribbon: str | Path | None = None) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".xlam" or out.stem != "xlcrm":
        # The VBA callback imports the module named after the add-in file.
        raise AddinError(f"加载项文件名必须是 xlcrm.xlam(按钮会运行「import 文件名」),而不是 {out.name}")
    ribbon = Path(ribbon) if ribbon else default_ribbon()
    if not ribbon.exists():
        raise AddinError(f"找不到 ribbon XML: {ribbon}")
    xml = ribbon.read_bytes()
    ElementTree.fromstring(xml)  # refuse a broken ribbon before writing anything
    template = template_path()
    with zipfile.ZipFile(template) as src:
        part = custom_ui_part(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = xml if info.filename == part else src.read(info.filename)
                dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out
