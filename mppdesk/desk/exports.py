"""The report as a workbook (XLSX, xlsxwriter) or as one CSV file.

Both are written from the same ``DailyReportView`` the PDF and the screen use.

- XLSX: a summary sheet (the report's header, the key figures and the audit chain head), then
  one sheet per table with real numbers, dates and times (so a supervisor can sum and
  filter), and native Excel bar charts beside the hour and agency tables.
- CSV: one file in long form, ``section,key,measure,value``: every table's every cell is one
  row (``key`` is the row's first column, ``measure`` the column's key). One file holds every
  table, reads back with any CSV reader, and pivots in a spreadsheet. Numbers use a decimal
  point, dates ISO 8601; the file starts with a UTF-8 byte order mark so spreadsheet programs
  read the names right.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from typing import Any

from mppdesk.core import messages
from mppdesk.printing.daily_report import DailyReportView, ReportTable

_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def sheet_name(title: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the book."""
    base = _SHEET_UNSAFE.sub(" ", title).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name


def _plain(value: Any) -> Any:
    """A value as xlsxwriter and the CSV take it: naive local times, no None."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return value


def xlsx_bytes(view: DailyReportView) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "default_date_format": "dd-mm-yyyy"})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    header = book.add_format({"bold": True, "bg_color": "#E4EBF3", "border": 1, "text_wrap": True})
    formats = {
        "int": book.add_format({"num_format": "#,##0"}),
        "minutes": book.add_format({"num_format": "0.0"}),
        "score": book.add_format({"num_format": "0.00"}),
        "percent": book.add_format({"num_format": "0.0"}),
        "date": book.add_format({"num_format": "dd-mm-yyyy"}),
        "datetime": book.add_format({"num_format": "dd-mm-yyyy hh:mm"}),
    }
    used: set[str] = set()
    summary = book.add_worksheet(sheet_name(messages.text("export.summary", view.lang), used))
    summary.set_column(0, 0, 34)
    summary.set_column(1, 1, 70)
    summary.write(0, 0, view.title, title)
    info = (
        ("MPP", view.mpp_name),
        (messages.text("export.desk", view.lang), view.desk),
        (messages.text("export.period", view.lang), view.period),
        (messages.text("export.made", view.lang), view.generated_at.strftime("%d-%m-%Y %H:%M")),
        (messages.text("export.by", view.lang), view.generated_by),
        ("Audit head id", view.audit_head_id),
        ("Audit head hash", view.audit_head_hash),
    )
    row = 2
    for label, value in info:
        summary.write(row, 0, label, bold)
        summary.write(row, 1, value)
        row += 1
    row += 1
    for kpi in view.kpis:
        summary.write(row, 0, kpi.label, bold)
        if kpi.value is None:
            summary.write_blank(row, 1, None)
        else:
            summary.write(row, 1, kpi.value, formats.get(kpi.kind))
        if kpi.detail:
            summary.write(row, 2, kpi.detail)
        row += 1

    for table in view.tables:
        sheet = book.add_worksheet(sheet_name(table.title, used))
        for index, column in enumerate(table.columns):
            sheet.write(0, index, column.label, header)
            wide = column.kind in ("text", "datetime")
            sheet.set_column(index, index, 26 if wide else 14)
        for r, values in enumerate(table.rows, start=1):
            for index, (value, column) in enumerate(zip(values, table.columns, strict=True)):
                if value is None:
                    sheet.write_blank(r, index, None)
                elif column.kind in ("date", "datetime"):
                    sheet.write_datetime(r, index, _plain(value), formats[column.kind])
                elif column.kind == "text":
                    sheet.write_string(r, index, str(value))
                else:
                    sheet.write_number(r, index, value, formats.get(column.kind))
        if table.rows:
            sheet.autofilter(0, 0, len(table.rows), len(table.columns) - 1)
        sheet.freeze_panes(1, 0)
        if table.note:
            sheet.write(len(table.rows) + 2, 0, table.note)
        _chart(book, sheet, table)
    book.close()
    return buffer.getvalue()


def _chart(book: Any, sheet: Any, table: ReportTable) -> None:
    """A native bar chart beside the tables people would rather look at."""
    if table.key not in ("by_hour", "by_agency") or not table.rows:
        return
    numeric = [i for i, c in enumerate(table.columns) if c.kind == "int"]
    chart = book.add_chart({"type": "column" if table.key == "by_hour" else "bar"})
    last = len(table.rows)
    for index in numeric:
        chart.add_series(
            {
                "name": [sheet.name, 0, index],
                "categories": [sheet.name, 1, 0, last, 0],
                "values": [sheet.name, 1, index, last, index],
            }
        )
    chart.set_title({"name": table.title})
    chart.set_legend({"position": "bottom"})
    sheet.insert_chart(1, len(table.columns) + 1, chart)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(round(value, 4))
    return str(value)


def csv_rows(view: DailyReportView) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for measure, value in (
        ("title", view.title),
        ("mpp", view.mpp_name),
        ("desk", view.desk),
        ("period", view.period),
        ("generated_at", view.generated_at),
        ("generated_by", view.generated_by),
        ("audit_head_id", view.audit_head_id),
        ("audit_head_hash", view.audit_head_hash),
    ):
        rows.append(("report", "", measure, _csv_value(value)))
    for kpi in view.kpis:
        rows.append(("summary", "", kpi.key, _csv_value(kpi.value)))
    for table in view.tables:
        for values in table.rows:
            key = _csv_value(values[0])
            for value, column in zip(values[1:], table.columns[1:], strict=True):
                rows.append((table.key, key, column.key, _csv_value(value)))
    return rows


def csv_bytes(view: DailyReportView) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("section", "key", "measure", "value"))
    writer.writerows(csv_rows(view))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
