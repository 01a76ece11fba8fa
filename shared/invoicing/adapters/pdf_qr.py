"""The QR code of an e-invoiced document's signed JWT: encoded by segno, drawn by ReportLab.

The templates ask for ``<pdf:barcode type="qr">``, which xhtml2pdf hands to ReportLab's QR widget.
The widget draws vector modules (sharp at any print size, no image), but its encoder is slow: a
signed QR JWT (~1 KB, a version-26 symbol) takes ~0.3 s to encode, and the widget encodes it twice
per document (once to size the drawing, once to draw it), so the QR was most of an e-invoiced
document's render time, and drawing its ~2,700 runs of dark modules as as many ReportLab shapes most
of the rest. :func:`install` registers, under ReportLab's own code name, a widget with the same
attributes and geometry that takes its module matrix from segno (a maintained, dependency-free QR
encoder, ~4x faster here; encoded once per value and level, so the second call and the next render
of the same document reuse it) and draws the runs as one path.

Only the encoding changes: the matrix is a valid QR symbol of the same data (segno picks its mask
by the standard's penalty rules, and may raise the error correction level where that costs no
extra modules), and a test decodes the printed code back to the JWT with an independent decoder.
"""

from __future__ import annotations

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
