"""Reading printed PDFs back for the printing tests: text (pypdf), pages, pixels (pdftoppm)."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path

import pypdf
from PIL import Image

PDFTOPPM = "/usr/bin/pdftoppm"
MM = 72 / 25.4  # points per millimetre


def reader(pdf: bytes) -> pypdf.PdfReader:
    assert pdf.startswith(b"%PDF-"), "not a PDF"
    return pypdf.PdfReader(io.BytesIO(pdf))


def pdf_text(pdf: bytes) -> str:
    """All pages' text, as extracted (lines as printed)."""
    return "\n".join(page.extract_text() for page in reader(pdf).pages)


def flat_text(pdf: bytes) -> str:
    """Text with every line break turned into one space: a phrase wrapped over two lines
    reads as typed (words are only ever broken at spaces unless longer than a line)."""
    return re.sub(r"\s+", " ", pdf_text(pdf))


def joined_text(pdf: bytes) -> str:
    """Text with line breaks removed: a word split at the paper's edge reads whole."""
    return pdf_text(pdf).replace("\n", "")


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (float(p.mediabox.width) / MM, float(p.mediabox.height) / MM) for p in reader(pdf).pages
    ]


def render_png(pdf: bytes, dpi: int = 100) -> list[Image.Image]:
    """Rasterise every page in grey with poppler's pdftoppm, as a printer driver would."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [PDFTOPPM, "-gray", "-r", str(dpi), "-png", str(source), str(Path(tmp) / "page")],
            check=True,
        )
        images = []
        for page in sorted(Path(tmp).glob("page*.png")):
            with Image.open(page) as image:
                images.append(image.convert("L"))
        return images


def ink_box(image: Image.Image, threshold: int = 160) -> tuple[int, int, int, int] | None:
    """Bounding box (left, top, right, bottom) of every pixel darker than ``threshold``."""
    mask = image.point(lambda value: 255 if value < threshold else 0)
    return mask.getbbox()
