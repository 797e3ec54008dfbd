"""Logging set-up shared by the command line and the desk window.

Every record passes a filter that masks NIK, KK and phone numbers and drops the bound
parameters of failed SQL statements, so personal identifiers never reach a log file or the
terminal, whatever a message or an exception text contains. Every entry point installs it:
the command line (and through it ``demo`` and ``agency-sim``) and the desk window.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mppdesk.core.masking import MaskingFilter

__all__ = ["MaskingFilter", "configure_logging"]


def configure_logging(verbose: bool = False, log_file: Path | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        os.chmod(log_file, 0o600)  # the desk's own, even masked
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    masking = MaskingFilter()
    for handler in handlers:
        handler.addFilter(masking)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, handlers=handlers, force=True
    )
