"""The embedded font every document uses.

reportlab's 14 standard fonts are not embedded and lack glyphs such as the tick, so a receipt
would look different on each viewer and printer driver. DejaVu Sans (shipped in
``resources/fonts`` with its licence) covers Indonesian, the ticks and boxes, and many other
scripts a name may be written in; it is embedded as a subset in every PDF.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from mppdesk.paths import resources_dir

log = logging.getLogger(__name__)

REGULAR = "MPPDesk-Sans"
BOLD = "MPPDesk-Sans-Bold"

_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}
_lock = threading.Lock()
_registered = False


def fonts_dir() -> Path:
    return resources_dir() / "fonts"


def register_fonts() -> None:
    """Register the fonts once per process (idempotent, thread-safe)."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        for name, filename in _FILES.items():
            path = fonts_dir() / filename
            if not path.is_file():
                raise FileNotFoundError(
                    f"font file missing: {path} (the installation is incomplete; reinstall MPP Desk)"
                )
            pdfmetrics.registerFont(TTFont(name, str(path)))
        # <b> inside a Paragraph picks the bold face; there is no italic face, so italic
        # falls back to the upright one instead of a standard (non-embedded) font.
        for bold, italic, face in ((0, 0, REGULAR), (1, 0, BOLD), (0, 1, REGULAR), (1, 1, BOLD)):
            addMapping(REGULAR, bold, italic, face)
            addMapping(BOLD, bold, italic, BOLD)
        _registered = True
        log.debug("registered fonts from %s", fonts_dir())
