"""A small PDF layout helper on pydyf: text lines, table rows and page breaks, nothing more.

pydyf writes PDF objects and content streams; it measures nothing. This module adds what a
business document needs: the two standard fonts Helvetica and Helvetica-Bold in
WinAnsiEncoding (built into every PDF viewer: nothing to embed, a few kilobytes of code
instead of fpdf2's fontTools and Pillow), their glyph widths for wrapping and right
alignment, a cursor that moves down the page and a new page when the next block does not
fit. Invoices use it; a service report can use it the same way.

Text is reduced to what WinAnsi (cp1252) can show: German letters, the euro sign and
typographic quotes print as they are, other letters are transliterated (ł → l), anything
else becomes "?", so rendering never fails.

Output is deterministic: no file identifier, the creation date is the caller's, so the
same content renders to the same bytes.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

import pydyf

ENCODING = "cp1252"  # what the PDF's WinAnsiEncoding means
MM = 72 / 25.4  # points per millimetre
A4 = (210 * MM, 297 * MM)

# Letters that NFKD does not decompose into a base letter plus accents.
_TRANSLITERATIONS = str.maketrans(
    {
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "Ħ": "H", "ı": "i",
        "ŀ": "l", "Ŀ": "L", "ŧ": "t", "Ŧ": "T", "ſ": "s", "ĸ": "k",
        "\u2212": "-", "\u2009": " ", "\u202f": " ",
    }
)

# Glyph widths (1/1000 em) of Helvetica and Helvetica-Bold per WinAnsi byte, derived from Adobe's
# Core 14 AFM files (Helvetica.afm, Helvetica-Bold.afm; Copyright (c) 1985, 1987, 1989, 1990, 1997
# Adobe Systems Incorporated. All Rights Reserved.), which "may be used, copied, and distributed for
# any purpose and without charge, with or without modification". Modified: reduced to one width per
# cp1252 byte; bytes without a glyph (0-31, unassigned) are 0, no-break space and soft hyphen 556.
HELVETICA_WIDTHS = (
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 556,
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,
    556, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 556, 737, 333,
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
)
HELVETICA_BOLD_WIDTHS = (
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 556,
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667,
    556, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 556, 737, 333,
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
)

_FONTS = {False: ("F1", "Helvetica", HELVETICA_WIDTHS), True: ("F2", "Helvetica-Bold", HELVETICA_BOLD_WIDTHS)}


def to_core_font_text(text: str) -> str:
    """``text`` reduced to what the core fonts can print (cp1252), transliterating the rest."""
    try:
        text.encode(ENCODING)
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for char in text.translate(_TRANSLITERATIONS):
        try:
            char.encode(ENCODING)
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        try:
            base.encode(ENCODING)
            out.append(base or "?")
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points of ``text`` in Helvetica (bold) at ``size``."""
    widths = _FONTS[bold][2]
    return sum(widths[b] for b in to_core_font_text(text).encode(ENCODING)) * size / 1000


def wrap(text: str, width: float, size: float, *, bold: bool = False) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points: at spaces, at explicit newlines,
    and inside a word only when the word alone is too wide."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if text_width(candidate, size, bold=bold) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            while text_width(word, size, bold=bold) > width and len(word) > 1:
                cut = len(word)
                while cut > 1 and text_width(word[:cut], size, bold=bold) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
    return lines


def _literal(text: str) -> bytes:
    raw = to_core_font_text(text).encode(ENCODING)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


@dataclass(frozen=True)
class Column:
    width: float  # millimetres
    align: str = "L"  # L or R


class PdfDocument:
    """A4 pages filled top to bottom; positions in millimetres from the top-left corner."""

    def __init__(self, *, margin_mm: float = 20, bottom_margin_mm: float = 20) -> None:
        self.margin = margin_mm * MM
        self.bottom = bottom_margin_mm * MM
        self.width, self.height = A4
        self._pdf = pydyf.PDF()
        self._fonts = pydyf.Dictionary(
            {
                key: pydyf.Dictionary(
                    {"Type": "/Font", "Subtype": "/Type1", "BaseFont": f"/{name}", "Encoding": "/WinAnsiEncoding"}
                )
                for key, name, _ in _FONTS.values()
            }
        )
        self._stream: pydyf.Stream | None = None
        self.page_count = 0
        self.y = 0.0  # points from the bottom, where the next line's top is
        self.new_page()

    @property
    def content_width(self) -> float:
        return self.width - 2 * self.margin

    def new_page(self) -> None:
        self._stream = pydyf.Stream(compress=False)
        self._pdf.add_object(self._stream)
        page = pydyf.Dictionary(
            {
                "Type": "/Page",
                "Parent": self._pdf.pages.reference,
                "MediaBox": pydyf.Array([0, 0, round(self.width, 2), round(self.height, 2)]),
                "Contents": self._stream.reference,
                "Resources": pydyf.Dictionary({"Font": self._fonts}),
            }
        )
        self._pdf.add_page(page)
        self.page_count += 1
        self.y = self.height - self.margin

    def ensure_space(self, height: float) -> bool:
        """Start a new page if ``height`` points do not fit; True when it did."""
        if self.y - height < self.bottom:
            self.new_page()
            return True
        return False

    def space(self, mm: float) -> None:
        self.y -= mm * MM

    def _show(self, text: str, x: float, baseline: float, size: float, bold: bool) -> None:
        stream = self._stream
        stream.begin_text()
        stream.set_font_size(_FONTS[bold][0], size)
        stream.set_text_matrix(1, 0, 0, 1, round(x, 2), round(baseline, 2))
        stream.stream.append(_literal(text) + b" Tj")
        stream.end_text()

    def text(self, text: str, *, size: float = 10, bold: bool = False, leading: float | None = None, align: str = "L") -> None:
        """A paragraph across the content width, wrapped, continued on the next page if needed."""
        leading = leading or size * 1.3
        for line in wrap(text, self.content_width, size, bold=bold):
            self.ensure_space(leading)
            x = self.margin
            if align == "R":
                x = self.width - self.margin - text_width(line, size, bold=bold)
            self._show(line, x, self.y - size, size, bold)
            self.y -= leading

    def row(
        self,
        cells: Sequence[str],
        columns: Sequence[Column],
        *,
        size: float = 9,
        bold: bool = False,
        leading: float | None = None,
        rule_below: bool = False,
        on_new_page=None,
    ) -> None:
        """One table row: each cell wrapped in its column; the row moves to a new page as a whole
        (``on_new_page`` then runs first, e.g. to repeat the table heading)."""
        leading = leading or size * 1.3
        padding = 1.5 * MM
        wrapped = [
            wrap(cell, column.width * MM - padding, size, bold=bold) for cell, column in zip(cells, columns)
        ]
        height = max(len(lines) for lines in wrapped) * leading + (2 if rule_below else 0)
        if self.ensure_space(height) and on_new_page is not None:
            on_new_page()
        x = self.margin
        for lines, column in zip(wrapped, columns):
            for index, line in enumerate(lines):
                baseline = self.y - size - index * leading
                if column.align == "R":
                    self._show(line, x + column.width * MM - padding - text_width(line, size, bold=bold), baseline, size, bold)
                else:
                    self._show(line, x, baseline, size, bold)
            x += column.width * MM
        self.y -= height
        if rule_below:
            self.rule()

    def rule(self, *, width: float = 0.5) -> None:
        stream = self._stream
        stream.set_line_width(width)
        stream.move_to(round(self.margin, 2), round(self.y + 1, 2))
        stream.line_to(round(self.width - self.margin, 2), round(self.y + 1, 2))
        stream.stroke()

    def output(self, *, title: str, author: str, created_at: datetime) -> bytes:
        stamp = created_at.astimezone(timezone.utc).strftime("D:%Y%m%d%H%M%SZ")
        self._pdf.info["Title"] = pydyf.String(title)
        self._pdf.info["Author"] = pydyf.String(author)
        self._pdf.info["Producer"] = pydyf.String("Partnerhub")
        self._pdf.info["CreationDate"] = pydyf.String(stamp)
        buffer = io.BytesIO()
        self._pdf.write(buffer, identifier=False, compress=False)
        return buffer.getvalue()
