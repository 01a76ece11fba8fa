"""The QR code of an e-invoiced document's signed JWT: encoded by segno, drawn by ReportLab.

The templates ask for ``<pdf:barcode type="qr">``, which xhtml2pdf hands to ReportLab's QR widget.
The widget draws vector modules (sharp at any print size, no image) but is slow for a signed QR JWT
(~1 KB, a version-26 symbol of 121 x 121 modules): ~0.15 s to encode it and ~0.15 s to lay out its
~2,700 runs of dark modules as as many shapes, both done twice per document (once to size the
drawing, once to draw it). That was most of an e-invoiced document's render (0.55-0.75 s against
0.1 s without the QR). :func:`install` registers, under ReportLab's own code name, a widget with
the same attributes and geometry that takes its module matrix from segno (a maintained,
dependency-free QR encoder, ~0.07 s here), encoded once per value and level and reused by the
second call and by the next render of the same document, and draws the runs as one path.

The printed symbol is a valid QR code of the same data at the same size, though not module for
module what ReportLab would print (segno picks its mask by the standard's penalty rules and may
raise the error correction level where that costs no extra modules); a test decodes the printed
code back to the JWT with an independent decoder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

CODE_NAME = "QR"  # what xhtml2pdf's <pdf:barcode type="qr"> asks ReportLab for


@lru_cache(maxsize=64)
def module_matrix(value: str, level: str) -> tuple[tuple[bool, ...], ...]:
    """The symbol's modules, dark as True, without the quiet zone (the widget adds it)."""
    import segno

    symbol = segno.make_qr(value, error=level.lower())
    return tuple(tuple(bool(module) for module in row) for row in symbol.matrix)


@lru_cache(maxsize=1)
def _widget() -> type:
    import itertools

    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Group, Path, Rect

    class SegnoQrCodeWidget(QrCodeWidget):
        """ReportLab's QR widget (same attributes, same geometry: ``barBorder`` modules of quiet
        zone, the symbol centred in ``barWidth`` x ``barHeight``), its modules from segno and drawn
        as one path of a rectangle per run of dark modules, not one shape per run."""

        codeName = CODE_NAME

        def draw(self) -> Any:
            modules = module_matrix(str(self.value), self.barLevel)
            width, height, border = self.barWidth, self.barHeight, self.barBorder
            side = float(min(width, height))
            box = side / (len(modules) + border * 2.0)
            left = self.x + (width - side) / 2.0
            top = self.y + (side - height) / 2.0 + height
            drawing = Group()
            unpainted: dict[str, Any] = {"fillColor": None, "strokeColor": None, "strokeWidth": 0}
            drawing.add(Rect(self.x, self.y, width, height, **unpainted))  # the bounds, quiet zone included
            dark = Path(fillColor=self.barFillColor, strokeColor=None, strokeWidth=0)
            for row, cells in enumerate(modules):
                column = 0
                for is_dark, run in itertools.groupby(cells):
                    count = len(list(run))
                    if is_dark:
                        x0, y0 = left + (column + border) * box, top - (row + border + 1) * box
                        x1, y1 = x0 + count * box, y0 + box
                        dark.moveTo(x0, y0)
                        dark.lineTo(x1, y0)
                        dark.lineTo(x1, y1)
                        dark.lineTo(x0, y1)
                        dark.closePath()
                    column += count
            drawing.add(dark)
            return drawing

    return SegnoQrCodeWidget


def install() -> None:
    """Make ``QR`` ReportLab's code name for the segno-encoded widget (idempotent; again after a
    ReportLab reset, which restores its own widgets)."""
    from reportlab.graphics.barcode import getCodes, registerWidget

    if getCodes().get(CODE_NAME) is not _widget():  # type: ignore[no-untyped-call]
        registerWidget(_widget())  # the last widget registered under a code name is the one used


class BarcodeNotDrawnError(RuntimeError):
    """A barcode of the document could not be drawn; the document must not go out without it."""


@contextmanager
def barcodes_drawn() -> Iterator[None]:
    """Fail the render if xhtml2pdf could not draw a barcode. xhtml2pdf only logs a warning then
    (with the barcode's value: for an e-invoice, the signed JWT with the buyer's GSTIN and the
    amount) and goes on without it: a B2B invoice printed without its QR is not a valid e-invoice.
    The warning is kept out of the logs; the error names the symbology, not the value."""
    failed: list[str] = []

    def catch(record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Cannot draw the"):
            failed.append(str(record.args[0]) if isinstance(record.args, tuple) and record.args else "?")
            return False
        return True

    tags = logging.getLogger("xhtml2pdf.tags")
    tags.addFilter(catch)
    try:
        yield
    finally:
        tags.removeFilter(catch)
    if failed:
        raise BarcodeNotDrawnError(f"the document's {', '.join(failed)} barcode could not be drawn")
