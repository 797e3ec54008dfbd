"""A plain-text flowable: wrapped lines, an optional bold prefix, a hanging mark or label.

Why not reportlab's Paragraph: a Paragraph parses its text as markup, so every user value
has to be escaped and one forgotten escape lets a name fetch a URL or break the build; its
parser and per-line drawing also cost more than the rest of a receipt. A receipt needs
none of the markup. ``TextBlock`` takes text, never markup: what it is given is what is
printed. It wraps at spaces, splits words longer than the line at character boundaries (a
500-character name without spaces stays inside the paper), and splits between lines when
an A4 page ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.platypus import Flowable

from mppdesk.printing.markup import clean


@dataclass(frozen=True)
class TextStyle:
    font: str
    bold_font: str
    size: float
    leading: float
    align: str = "left"  # "left" or "center"
    indent: float = 0.0  # where wrapped lines start; a mark or label hangs in front
    space_before: float = 0.0
    space_after: float = 0.0


Run = tuple[str, bool]  # (text, bold)
Segment = list  # [font name, text]
Line = tuple[float, list[Segment]]  # (width, segments)


class TextBlock(Flowable):
    """Wrapped plain text. ``runs`` is a string or a sequence of (text, bold) pieces."""

    def __init__(self, runs: str | Sequence[Run], style: TextStyle, mark: str | None = None):
        super().__init__()
        if isinstance(runs, str):
            runs = [(runs, False)]
        self.runs = [(clean(text), bold) for text, bold in runs]
        self.style = style
        self.mark = clean(mark) if mark else None
        self.hAlign = "LEFT"
        self._wrapped_for: float | None = None
        self._lines: list[Line] = []
        self._first_start = style.indent

    # -- Flowable protocol --------------------------------------------------------------

    def getSpaceBefore(self) -> float:  # noqa: N802 (reportlab's name)
        return self.style.space_before

    def getSpaceAfter(self) -> float:  # noqa: N802
        return self.style.space_after

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        if self._wrapped_for != availWidth:
            self._lines = self._break(availWidth)
            self._wrapped_for = availWidth
        self.width = availWidth
        self.height = len(self._lines) * self.style.leading
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        self.wrap(availWidth, availHeight)
        fit = int(availHeight // self.style.leading)
        if fit <= 0 or fit >= len(self._lines):
            return []
        head = self._with_lines(self._lines[:fit], self.mark)
        tail = self._with_lines(self._lines[fit:], None)
        tail._first_start = self.style.indent
        return [head, tail]

    def draw(self) -> None:
        if not self._lines:
            return
        style = self.style
        size, leading = style.size, style.leading
        baseline = self.height - (leading - size) / 2 - 0.85 * size
        text = self.canv.beginText()
        current_font = None
        origin_x = None
        for index, (line_width, segments) in enumerate(self._lines):
            start = self._first_start if index == 0 else style.indent
            x = start + ((self.width - start - line_width) / 2 if style.align == "center" else 0.0)
            if index == 0 and self.mark:
                current_font = style.font
                text.setTextOrigin(0, baseline)
                text.setFont(current_font, size, leading)
                text.textOut(self.mark)
                origin_x = None
            if x != origin_x:
                text.setTextOrigin(x, baseline - index * leading)
                origin_x = x
            # One text object for the block; T* (textLine) steps to the next line, so a
            # line costs no origin or width computation unless it starts elsewhere.
            last = len(segments) - 1
            for position, (font, piece) in enumerate(segments):
                if font != current_font:
                    text.setFont(font, size, leading)
                    current_font = font
                if position == last:
                    text.textLine(piece)
                else:
                    text.textOut(piece)
            if not segments:
                text.textLine("")
        self.canv.drawText(text)

    # -- line breaking ------------------------------------------------------------------

    def _with_lines(self, lines: list[Line], mark: str | None) -> TextBlock:
        block = TextBlock([], self.style, None)
        block.mark = mark
        block._lines = lines
        block._wrapped_for = self._wrapped_for
        block._first_start = self._first_start
        return block

    def _break(self, width: float) -> list[Line]:
        style = self.style
        size = style.size
        space = {}
        first_start = style.indent
        if self.mark:
            mark_width = getFont(style.font).stringWidth(self.mark + " ", size)
            first_start = max(style.indent, mark_width)
        self._first_start = first_start
        lines: list[Line] = []
        segments: list[Segment] = []
        line_width = 0.0
        avail = width - first_start

        def flush() -> None:
            nonlocal segments, line_width, avail
            lines.append((line_width, segments))
            segments, line_width = [], 0.0
            avail = width - style.indent

        def add(font: str, piece: str, piece_width: float, gap: bool) -> None:
            nonlocal line_width
            if gap and segments:
                piece = " " + piece
                piece_width += space[font]
            if segments and segments[-1][0] == font:
                segments[-1][1] += piece
            else:
                segments.append([font, piece])
            line_width += piece_width

        pending_gap = False
        for text, bold in self.runs:
            font = style.bold_font if bold else style.font
            face = getFont(font)
            if font not in space:
                space[font] = face.stringWidth(" ", size)
            words = text.split()
            if not words:
                pending_gap = pending_gap or bool(text)
                continue
            if text[0].isspace():
                pending_gap = True
            for word in words:
                word_width = face.stringWidth(word, size)
                gap_width = space[font] if (pending_gap and segments) else 0.0
                if line_width + gap_width + word_width <= avail + 0.01:
                    add(font, word, word_width, pending_gap)
                elif word_width <= width - style.indent:
                    flush()
                    add(font, word, word_width, False)
                else:
                    # Longer than a whole line: fill lines character by character.
                    if segments:
                        flush()
                    chunk, chunk_width = "", 0.0
                    for ch in word:
                        ch_width = face.stringWidth(ch, size)
                        if chunk and chunk_width + ch_width > avail + 0.01:
                            add(font, chunk, chunk_width, False)
                            flush()
                            chunk, chunk_width = "", 0.0
                        chunk += ch
                        chunk_width += ch_width
                    add(font, chunk, chunk_width, False)
                pending_gap = True
            pending_gap = text[-1].isspace()
        if segments or (self.mark and not lines):
            lines.append((line_width, segments))
        return lines


class FillLine(Flowable):
    """ "Label: ________" to the right edge: a place to write a name or sign by hand."""

    def __init__(
        self, label: str, style: TextStyle, height_lines: float = 2.0, value: str | None = None
    ):
        super().__init__()
        self.label = clean(label)
        self.value = clean(value) if value else ""  # printed on the line, e.g. a known name
        self.style = style
        self.height_lines = height_lines  # room above the line for handwriting

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        self.width = availWidth
        self.height = self.style.leading * self.height_lines
        return self.width, self.height

    def draw(self) -> None:
        style = self.style
        baseline = style.leading * 0.3
        canvas = self.canv
        canvas.setFont(style.font, style.size)
        text = self.label + " "
        canvas.drawString(0, baseline, text)
        start = min(canvas.stringWidth(text, style.font, style.size), self.width * 0.6)
        if self.value:
            # A value too long for the line is cut: this is a place to sign, not to read.
            value = fit_text(self.value, style.font, style.size, self.width - start - 2)
            canvas.drawString(start + 2, baseline + 1, value)
        canvas.setLineWidth(0.6)
        canvas.setDash(1, 1.5)
        canvas.line(start, baseline - 1, self.width, baseline - 1)
        canvas.setDash()


def fit_text(text: str, font: str, size: float, room: float) -> str:
    """``text`` cut with an ellipsis to fit ``room`` points."""
    face = getFont(font)
    if face.stringWidth(text, size) <= room:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if face.stringWidth(text[:middle] + "…", size) <= room:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…" if low else ""
