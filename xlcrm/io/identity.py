"""Which master workbook a weekly workbook came from (`xlcrm collect` refuses strangers).

`xlcrm new` and `xlcrm sample` give the master a random number in a custom document
property (文件 → 信息 → 属性 → 高级属性 → 自定义 in Excel, which keeps it on every
save); `xlcrm weekly` copies that number into each agent's workbook together with the
agent's name. A master made elsewhere has no such property: its creation time
(docProps/core.xml, also kept by Excel) stands in for it.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from defusedxml import ElementTree

from . import schema
from .errors import WorkbookError

NS_PROPS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
NS_CORE = "{http://purl.org/dc/terms/}"


def custom_properties(path: str | Path) -> dict[str, str]:
    """The custom document properties of a workbook, as text."""
    try:
        with zipfile.ZipFile(path) as zf:
            if "docProps/custom.xml" not in zf.namelist():
                return {}
            root = ElementTree.fromstring(zf.read("docProps/custom.xml"))
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: 无法打开({exc})") from exc
    out = {}
    for prop in root.iter(f"{NS_PROPS}property"):
        value = next(iter(prop), None)
        if prop.get("name") and value is not None:
            out[prop.get("name")] = (value.text or "").strip()
    return out


def master_identity(path: str | Path) -> str:
    """The master's number (its custom property, else a hash of its creation time)."""
    own = custom_properties(path).get(schema.MASTER_ID_PROPERTY)
    if own:
        return own
    with zipfile.ZipFile(path) as zf:
        if "docProps/core.xml" not in zf.namelist():
            return ""
        root = ElementTree.fromstring(zf.read("docProps/core.xml"))
    created = root.find(f"{NS_CORE}created")
    if created is None or not (created.text or "").strip():
        return ""
    return "created-" + hashlib.blake2b(created.text.strip().encode(), digest_size=8).hexdigest()
