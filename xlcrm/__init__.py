"""xlcrm: 客户维护和拓展 — an Excel workbook as a client-maintenance system.

The ribbon button 刷新我的任务 (add-in xlcrm.xlam, built by `xlcrm build-addin`) runs
`import xlcrm; xlcrm.main()`.
"""

from __future__ import annotations

__version__ = "0.1.0"


def main() -> None:  # pragma: no cover - runs inside Excel; see excel.run_refresh
    """What the ribbon button runs: refresh the calling workbook's 我的任务."""
    from .doors.excel import main as excel_main

    excel_main()
