"""Long tables drawn by ReportLab directly, in the place the template marks for them.

A document's template is rendered by xhtml2pdf, which builds a ReportLab story from the HTML; an
invoice's line table is different only in size. xhtml2pdf turns every cell into an element with a
CSS cascade, a list of text fragments and a paragraph, which costs about 5.5 ms a row even for a
bare table with no styles at all (``benchmarks/PDF_PROFILE.md``): 1.1 s of a 200-line invoice's
1.3 s, 3 s for 500 lines. ReportLab's ``Table`` — the flowable xhtml2pdf itself ends up with —
draws a plain cell's text with one string call, so here only the service cell is a paragraph
(it may wrap and it has a grey run) and every other cell is a string: about a quarter of the time.

How it fits together (``InvoicePdfRenderer.to_pdf``): the template writes a placeholder paragraph,
``<p>{{ table("lines") }}</p>``, where the table goes, and the renderer hands xhtml2pdf a
``tables`` map of builders; once xhtml2pdf has built its story, each placeholder is swapped for
what its builder makes, in the fonts the template's ``@font-face`` rules registered, before
anything is laid out. A placeholder with no builder, or a builder with no placeholder, is an error.
Each render's placeholders carry a random token of that render: customer text that looks like a
placeholder ("[[table:lines]]" as a customer's name) is printed as the text it is.

The table keeps the template's look (``invoice.html``'s former ``.lines`` rules): navy header
repeated on every page, zebra stripes, right-aligned figures, a left-aligned service cell whose
resource type is grey and smaller, text in the document's colour and line height.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from reportlab.platypus import Flowable

PREFIX = "[[table:"
FAMILY = "Invoice Sans"  # the font family every template declares (_fonts.css)


def new_token() -> str:
    """A render's own placeholder token (not printed: what it marks is replaced)."""
    return secrets.token_hex(8)


def placeholder(name: str, token: str) -> str:
    """The text of the paragraph that marks where table ``name`` goes in the render of ``token``."""
    return f"{PREFIX}{name}:{token}]]"


@dataclass(frozen=True)
class Fonts:
    """The document's typeface as ReportLab knows it (registered by the template's @font-face)."""

    regular: str
    bold: str


TableBuilder = Callable[[Fonts], "Flowable"]


class TablePlacementError(RuntimeError):
    """A template's table placeholders and the renderer's tables do not match."""


def place_tables(story: list[Any], tables: Mapping[str, TableBuilder], fonts: Fonts, token: str) -> None:
    """Swap each placeholder paragraph of ``story`` (top level) with this render's ``token`` for its
    table, in place."""
    placed: set[str] = set()
    end = f":{token}]]"
    for index, flowable in enumerate(story):
        text = flowable.getPlainText().strip() if hasattr(flowable, "getPlainText") else ""
        if not (token and text.startswith(PREFIX) and text.endswith(end)):
            continue
        name = text[len(PREFIX) : -len(end)]
        if name not in tables:
            raise TablePlacementError(f"the template places table {name!r}, which the renderer was not given")
        story[index] = tables[name](fonts)
        placed.add(name)
    if missing := set(tables) - placed:
        raise TablePlacementError(f"the template has no place for table(s) {sorted(missing)}")


# ---------------------------------------------------------------------------------------------
# The invoice's line table
# ---------------------------------------------------------------------------------------------

INK = "#1d2433"
MUTED = "#5b6475"
NAVY = "#12355b"
STRIPE = "#f3f5f9"
SIZE = 7.5  # pt, the table's text
HEADER_SIZE = 7.0
TYPE_SIZE = 6.8  # the resource type and usage runs
LINE_HEIGHT = 1.3
COLUMNS = (("#", "4.5%"), ("Service", "43%"), ("SAC", "7%"), ("Qty", "9%"), ("Unit", "9%"))
FIGURES = (("Rate (₹)", "13.5%"), ("Amount (₹)", "14%"))
SPACE_BEFORE = 8.0


def invoice_lines(lines: Sequence[Mapping[str, str]]) -> TableBuilder:
    """The builder of an invoice's line table from the view's ``lines`` (already formatted)."""

    def build(fonts: Fonts) -> Flowable:
        from reportlab.lib.colors import HexColor
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.platypus import LongTable, Paragraph, TableStyle

        service = ParagraphStyle(
            "service",
            fontName=fonts.regular,
            fontSize=SIZE,
            leading=SIZE * LINE_HEIGHT,
            textColor=HexColor(INK),
        )
        grey = f'<font size="{TYPE_SIZE}" color="{MUTED}">'
        header = [title for title, _ in (*COLUMNS, *FIGURES)]
        rows: list[list[Any]] = [header]
        for line in lines:
            text = escape(line["resource_name"])
            if line["description"]:
                text += f" — {escape(line['description'])}"
            text += f" {grey}· {escape(line['resource_type'])}</font>"
            if line["usage"]:
                text += f"<br/>{grey}usage {escape(line['usage'])}</font>"
            paragraph = Paragraph(text, service)
            for run in paragraph.frags:
                # ReportLab's paragraph parser looks the style's face up by its PostScript name,
                # which xhtml2pdf's @font-face registration maps back to the family as bold
                # italic (it fills the missing styles with the first face it loads; the bold face
                # then takes three of them back). The cell has no bold or italic runs: each run is
                # drawn in the regular face.
                run.fontName = fonts.regular
            rows.append(
                [
                    line["number"],
                    paragraph,
                    line["sac"],
                    line["quantity"],
                    line["unit"],
                    line["rate"],
                    line["amount"],
                ]
            )
        commands: list[tuple[Any, ...]] = [
            ("FONT", (0, 1), (-1, -1), fonts.regular, SIZE, SIZE * LINE_HEIGHT),
            ("TEXTCOLOR", (0, 1), (-1, -1), HexColor(INK)),
            ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
            ("ALIGN", (1, 0), (1, -1), "LEFT"),
            ("VALIGN", (0, 1), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 4),
            ("RIGHTPADDING", (0, 0), (-1, -1), 4),
            ("TOPPADDING", (0, 1), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            # The header: navy, white bold, repeated at the top of every page the table reaches.
            ("FONT", (0, 0), (-1, 0), fonts.bold, HEADER_SIZE, HEADER_SIZE * LINE_HEIGHT),
            ("TEXTCOLOR", (0, 0), (-1, 0), HexColor("#ffffff")),
            ("BACKGROUND", (0, 0), (-1, 0), HexColor(NAVY)),
            ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
            ("TOPPADDING", (0, 0), (-1, 0), 4),
        ]
        # Every second line striped, by its own command: ROWBACKGROUNDS restarts its cycle on each
        # page a long table is split onto, which would stripe line 2 on one page and 41 on the next.
        stripe = HexColor(STRIPE)
        commands += [("BACKGROUND", (0, row), (-1, row), stripe) for row in range(2, len(rows), 2)]
        return LongTable(
            rows,
            colWidths=[width for _, width in (*COLUMNS, *FIGURES)],
            repeatRows=1,
            style=TableStyle(commands),
            spaceBefore=SPACE_BEFORE,
        )

    return build
