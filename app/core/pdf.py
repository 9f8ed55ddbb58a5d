"""One way to start a PDF document (receipts, report cards): Unicode fonts embedded, so names in
any script the institute's families write print as typed — Latin with accents, Devanagari,
Tamil, Bengali, Telugu, Kannada, Malayalam, Gujarati, Gurmukhi — never as "?".

The Noto fonts (SIL Open Font License, app/core/fonts/OFL.txt) are embedded as subsets (only
the glyphs used). Noto Sans is the text font; the Indic families are fallbacks fpdf2 switches to
per character, and HarfBuzz shaping (uharfbuzz) joins conjuncts and vowel signs as a reader
expects them.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "NotoSans"
# Family name -> (regular file, bold file or None: bold text then uses the regular face).
_FAMILIES = {
    FONT: ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "NotoSansDevanagari": ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf"),
    "NotoSansTamil": ("NotoSansTamil-Regular.ttf", "NotoSansTamil-Bold.ttf"),
    "NotoSansBengali": ("NotoSansBengali-Regular.ttf", None),
    "NotoSansTelugu": ("NotoSansTelugu-Regular.ttf", None),
    "NotoSansKannada": ("NotoSansKannada-Regular.ttf", None),
    "NotoSansMalayalam": ("NotoSansMalayalam-Regular.ttf", None),
    "NotoSansGujarati": ("NotoSansGujarati-Regular.ttf", None),
    "NotoSansGurmukhi": ("NotoSansGurmukhi-Regular.ttf", None),
}


# ISO sizes in millimetres, given as numbers: fpdf2 warns on the name "A5" (its dimensions were
# corrected in 2.8.5), and a document should not depend on a library's table.
PAGE_SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}


def document(*, page_format: str = "A4", title: str = "") -> FPDF:
    """A new PDF with the Unicode fonts registered and Noto Sans 11 pt selected; add pages and
    text as with any FPDF, naming the font `FONT` (bold: style "B")."""
    pdf = FPDF(unit="mm", format=PAGE_SIZES[page_format])
    for family, (regular, bold) in _FAMILIES.items():
        pdf.add_font(family, "", FONTS / regular)
        if bold:
            pdf.add_font(family, "B", FONTS / bold)
    pdf.set_fallback_fonts([f for f in _FAMILIES if f != FONT], exact_match=False)
    pdf.set_text_shaping(True)
    if title:
        pdf.set_title(title)
    pdf.set_font(FONT, size=11)
    return pdf
