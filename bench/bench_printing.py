"""receipt_80mm: the project's 80 mm receipt of a 3-service visit against a raw-canvas floor.

The floor is the least work that puts the same ink on the same paper with reportlab: the
same text runs (read back from the project's own PDF, each in its own font and size) drawn
with ``canvas.drawString``, and the same three QR codes (same flowable, size and error
level) drawn straight onto the canvas, on a page of the same size, saved with the same
canvas settings. The ratio is therefore what the layout costs: building the story from the
view, wrapping, the tables and rules. Both are timed alternately in the same run, so a busy
machine slows both alike.
"""

from __future__ import annotations

import io
import time

from bench.harness import Result, cost_result


def _receipt():
    from mppdesk.printing import Layout, render_receipt
    from mppdesk.printing.samples import sample_receipt

    view = sample_receipt(services=3)
    return view, lambda: render_receipt(view, Layout.THERMAL_80, "id")


def _floor_plan(pdf: bytes) -> tuple[tuple[float, float], list[tuple[str, str, float]]]:
    """Page size and the text runs (text, font, size) of the project's receipt."""
    import pypdf

    from mppdesk.printing.fonts import BOLD, REGULAR

    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    runs: list[tuple[str, str, float]] = []

    def visit(text, cm, tm, font, size):  # pypdf's visitor signature
        for piece in text.splitlines():
            if piece.strip():
                base = str(font.get("/BaseFont", "")) if font else ""
                runs.append((piece, BOLD if "Bold" in base else REGULAR, float(size)))

    page.extract_text(visitor_text=visit)
    return (float(page.mediabox.width), float(page.mediabox.height)), runs


def _floor(size: tuple[float, float], runs: list[tuple[str, str, float]], codes: list[str]):
    from reportlab.pdfgen.canvas import Canvas

    from mppdesk.printing.pages import PAPERS, qr_code
    from mppdesk.printing.receipt import QR_SIZE
    from mppdesk.printing.views import Layout

    paper = PAPERS[Layout.THERMAL_80]
    qr_size = QR_SIZE[Layout.THERMAL_80]

    def draw() -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, pagesize=size, invariant=1, pageCompression=1, lang="id")
        y = size[1] - paper.margin_top
        for text, font, font_size in runs:
            y -= font_size * 1.25
            canvas.setFont(font, font_size)
            canvas.drawString(paper.margin_x, y, text)
        for value in codes:
            y -= qr_size
            code = qr_code(value, qr_size)
            code.wrap(qr_size, qr_size)
            code.drawOn(canvas, paper.margin_x, y)
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    return draw


def run(quick: bool) -> list[Result]:
    view, project = _receipt()
    pdf = project()  # also loads the fonts, outside the timing
    size, runs = _floor_plan(pdf)
    floor = _floor(size, runs, [line.tracking_number for line in view.services])
    for _ in range(3):  # warm caches (babel data, font metrics) on both sides
        project()
        floor()
    repeat = 30 if quick else 80
    samples: list[float] = []
    floor_samples: list[float] = []
    pair = ((project, samples), (floor, floor_samples))
    for index in range(repeat):
        # A-B then B-A: neither side always runs right after the other.
        for fn, out in pair if index % 2 == 0 else pair[::-1]:
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    extra = {"services": len(view.services), "text_runs": len(runs), "pdf_bytes": len(pdf)}
    return [
        cost_result(
            "receipt_80mm", samples, floor_samples, goal=1.3, extra=extra,
            size=f"{len(view.services)} services",
        )
    ]
