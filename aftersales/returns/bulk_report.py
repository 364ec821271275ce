"""The bulk report: where it may go.

The report path is checked before any row runs: its folder must exist and
it must not be the input file, which writing the report would destroy while
it is being read. Its cells echo what the input file said (ids, notes, error
texts) and are written through :func:`aftersales.csv_cells.safe_cell`, as
every CSV the library writes, so no spreadsheet runs one as a formula.
"""

from __future__ import annotations

import os
from pathlib import Path

from aftersales.errors import AfterSalesError
from aftersales.returns.bulk_rows import BulkFileError

__all__ = ["SHOWN_ERRORS", "BulkReportError", "check_report_path", "report_failed"]

#: Error rows the CLI prints before "and N more".
SHOWN_ERRORS = 20


class BulkReportError(AfterSalesError):
    """The report could not be written once the run had begun (a full disk): the run stops."""


def report_failed(report: str | Path, exc: OSError) -> BulkReportError:
    """The error that stops a run whose report cannot be written.

    The rows applied before it stay applied (their keys are stored), so the
    file run again, with room for the report, goes on where this run stopped.
    """
    return BulkReportError(
        f"--report {report}: cannot be written ({exc.strerror or type(exc).__name__}); the run "
        "stopped, and the rows it applied stay applied: make room and run the file again "
        "(they are then reported as already done)")


def check_report_path(report: str | Path, source: str | Path) -> None:
    """Refuse a report path that cannot be written or that is the input file.

    Raises:
        BulkFileError: the folder is missing, the path is a folder, or it is
            the input file (by name or, through a link, by identity).
    """
    report = Path(report)
    folder = report.parent
    if not folder.is_dir():
        raise BulkFileError(f"--report folder {folder} does not exist", payload=str(report))
    if report.is_dir():
        raise BulkFileError(f"--report {report} is a folder; give a file name",
                            payload=str(report))
    same = os.path.abspath(report) == os.path.abspath(source)
    if not same and report.exists():
        try:
            same = os.path.samefile(report, source)
        except OSError:
            same = False
    if same:
        raise BulkFileError("--report is the input file; writing it would destroy the input",
                            payload=str(report))
    if report.exists() and not os.access(report, os.W_OK):
        raise BulkFileError(f"--report {report} cannot be written", payload=str(report))
