"""The service report as a PDF, written with pydyf (low level: Helvetica, WinAnsiEncoding, A4).

Every time entry is listed, billable and not (with the reason), then the totals. Text is
encoded as Windows-1252, which the standard Helvetica font with WinAnsiEncoding shows
(umlauts, ß, €); characters outside it become '?'.
"""

from __future__ import annotations

import io
import re

import pydyf

from domain.calendar import format_utc
from domain.organisations import Organisation
from domain.tickets import ServiceReport, hours_of

A4 = (595, 842)
MARGIN = 50
LINE = 13
FONT_SIZE = 9


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return b"(" + re.sub(rb"([\\()])", rb"\\\1", raw) + b")"


def _wrap(text: str, width: int) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return lines + ([current] if current else []) or [""]


def report_lines(report: ServiceReport, customer: Organisation, technicians: dict[str, str]) -> list[tuple[str, bool]]:
    """(text, bold) per line of the document, in order."""
    lines: list[tuple[str, bool]] = [
        (f"Service report {report.id}", True),
        (f"Customer: {customer.name}", False),
        (f"Period: {report.first_day.isoformat()} to {report.last_day.isoformat()}", False),
        (f"Created: {format_utc(report.created_at)}", False),
        ("", False),
        ("Date        Ticket     Technician            Hours  Billable  Work", True),
    ]
    for line in report.lines:
        technician = technicians.get(line.technician_id, line.technician_id)[:20]
        head = f"{line.work_date.isoformat()}  {line.ticket_number:<9}  {technician:<20}  {line.hours:>6}  {'yes' if line.billable else 'no':<8}  "
        wrapped = _wrap(line.description, 40)
        lines.append((head + wrapped[0], False))
        lines.extend((" " * len(head) + rest, False) for rest in wrapped[1:])
        if not line.billable and line.reason:
            lines.append((" " * len(head) + f"Not billable: {line.reason}", False))
    lines += [
        ("", False),
        (f"Billable: {hours_of(report.billable_minutes)} h ({report.billable_minutes} min)", True),
        (f"Not billable: {hours_of(report.non_billable_minutes)} h ({report.non_billable_minutes} min)", True),
        ("Invoices refer to this report by its id.", False),
    ]
    return lines


def render_service_report(report: ServiceReport, customer: Organisation, technicians: dict[str, str]) -> bytes:
    document = pydyf.PDF()
    fonts = {}
    for name, base in (("F1", "Helvetica"), ("F2", "Helvetica-Bold")):
        font = pydyf.Dictionary({
            "Type": "/Font", "Subtype": "/Type1", "BaseFont": f"/{base}", "Encoding": "/WinAnsiEncoding",
        })
        document.add_object(font)
        fonts[name] = font.reference
    resources = pydyf.Dictionary({"Font": pydyf.Dictionary(fonts)})
    per_page = (A4[1] - 2 * MARGIN) // LINE
    all_lines = report_lines(report, customer, technicians)
    pages = [all_lines[i : i + per_page] for i in range(0, len(all_lines), per_page)] or [[]]
    for number, page_lines in enumerate(pages, start=1):
        stream = pydyf.Stream()
        stream.begin_text()
        stream.set_text_matrix(1, 0, 0, 1, MARGIN, A4[1] - MARGIN)
        for text, bold in page_lines:
            stream.set_font_size("F2" if bold else "F1", FONT_SIZE)
            stream.stream.append(_pdf_text(text) + b" Tj")
            stream.move_text_to(0, -LINE)
        stream.set_font_size("F1", 7)
        stream.stream.append(_pdf_text(f"Page {number} of {len(pages)}") + b" Tj")
        stream.end_text()
        document.add_object(stream)
        page = pydyf.Dictionary({
            "Type": "/Page", "Parent": document.pages.reference, "MediaBox": pydyf.Array([0, 0, *A4]),
            "Contents": stream.reference, "Resources": resources,
        })
        document.add_page(page)
    output = io.BytesIO()
    document.write(output)
    return output.getvalue()
