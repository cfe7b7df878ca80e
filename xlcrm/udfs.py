"""The worksheet functions, at the import path Excel's xlwings add-in is told to load.

xlwings' "UDF Modules" setting names `xlcrm.udfs`; the functions live in
`xlcrm.doors.udfs`. xlwings registers every decorated function it finds here.
"""

from .doors.udfs import (  # noqa: F401 - re-exported for xlwings
    crm_cadence,
    crm_class,
    crm_class_reason,
    crm_next,
    crm_overdue,
    crm_salutation,
    crm_status,
)
