"""The desk's look: calm colours, high contrast, a focus ring you can see from a metre away.

An officer works the same screen all day, mostly by keyboard, so the one thing that must
never be subtle is where the focus is. Everything else stays quiet: white cards on a light
grey ground, one blue accent, red only for what blocks finalizing, amber for warnings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

INK = "#14181f"
INK_SOFT = "#3d4756"
GROUND = "#eef1f5"
CARD = "#ffffff"
LINE = "#c9d1db"
ACCENT = "#0b57a4"
ACCENT_DARK = "#083f78"
ACCENT_SOFT = "#e3eefa"
ERROR = "#a8200d"
ERROR_SOFT = "#fdecea"
WARNING = "#6b4500"
WARNING_SOFT = "#fff3d1"
OK = "#12652b"
OK_SOFT = "#e4f4e8"

# The combo box arrow: once a stylesheet draws the box, Qt needs the arrow as an image.
ARROW = (Path(__file__).with_name("icons") / "down.svg").as_posix()

STYLE = f"""
QWidget {{ color: {INK}; }}
QMainWindow, QDialog, QStackedWidget#pages {{ background: {GROUND}; }}
QFrame#card {{ background: {CARD}; border: 1px solid {LINE}; border-radius: 6px; }}
QFrame#groupRow {{ background: #f6f8fb; border: 1px solid {LINE}; border-radius: 5px; }}
QFrame#bar {{ background: {CARD}; border-bottom: 1px solid {LINE}; }}
QScrollArea {{ background: transparent; border: none; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QLabel#heading {{ font-size: 15pt; font-weight: 600; }}
QLabel#subheading {{ font-size: 12pt; font-weight: 600; color: {INK}; }}
QLabel#muted {{ color: {INK_SOFT}; }}
QLabel#fieldLabel {{ color: {INK}; }}
QLabel#message {{ color: {ERROR}; font-weight: 600; }}
QLabel#warning {{ color: {WARNING}; }}
QLabel#changed {{ color: {ACCENT_DARK}; font-style: italic; }}
QLabel#banner {{ background: {ACCENT_SOFT}; border: 1px solid #b7cfe9; border-radius: 4px;
                 padding: 6px 10px; }}
QLabel#bannerError {{ background: {ERROR_SOFT}; border: 1px solid #f0b8ae; border-radius: 4px;
                      padding: 6px 10px; color: {ERROR}; font-weight: 600; }}
QLabel#bannerOk {{ background: {OK_SOFT}; border: 1px solid #a9d8b6; border-radius: 4px;
                   padding: 6px 10px; color: {OK}; font-weight: 600; }}
QLabel#bannerWarning {{ background: {WARNING_SOFT}; border: 1px solid #ecd28c; border-radius: 4px;
                        padding: 6px 10px; color: {WARNING}; }}
QLabel#ticket {{ font-size: 15pt; font-weight: 700; color: {ACCENT_DARK}; }}
QLineEdit, QPlainTextEdit, QSpinBox {{
    background: {CARD}; border: 1px solid #8c97a6; border-radius: 4px; padding: 4px 6px;
    min-height: 20px; selection-background-color: {ACCENT}; selection-color: white;
}}
QComboBox {{
    background: {CARD}; border: 1px solid #8c97a6; border-radius: 4px; padding: 4px 6px;
    min-height: 20px; selection-background-color: {ACCENT}; selection-color: white;
}}
QComboBox::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right;
                        width: 24px; border: none; }}
QComboBox::down-arrow {{ image: url({ARROW}); width: 12px; height: 8px; }}
QComboBox:disabled {{ color: #8a93a0; background: #f3f5f8; }}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus {{
    border: 2px solid {ACCENT}; padding: 3px 5px; background: #fbfdff;
}}
QComboBox:focus {{ border: 2px solid {ACCENT}; padding: 3px 5px; background: #fbfdff; }}
QLineEdit[invalid="true"], QComboBox[invalid="true"], QPlainTextEdit[invalid="true"] {{
    border: 2px solid {ERROR}; padding: 3px 5px;
}}
QLineEdit:read-only {{ background: #f3f5f8; color: {INK_SOFT}; }}
QPushButton {{
    background: {CARD}; border: 1px solid #8c97a6; border-radius: 4px; padding: 5px 12px;
    min-height: 20px;
}}
QPushButton:hover {{ background: {ACCENT_SOFT}; }}
QPushButton:focus {{ border: 2px solid {ACCENT}; padding: 4px 11px; }}
QPushButton:disabled {{ color: #8a93a0; border-color: #c9d1db; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: 1px solid {ACCENT_DARK};
                       font-weight: 600; }}
QPushButton#primary:hover {{ background: {ACCENT_DARK}; }}
QPushButton#primary:focus {{ border: 2px solid #f2b705; }}
QPushButton#primary:disabled {{ background: #9fb6cf; border-color: #9fb6cf; color: white; }}
QCheckBox {{ spacing: 8px; }}
QCheckBox:focus {{ background: {ACCENT_SOFT}; border-radius: 3px; }}
QCheckBox::indicator {{ width: 16px; height: 16px; }}
QListWidget, QListView, QTableView, QTreeView {{
    background: {CARD}; border: 1px solid {LINE}; border-radius: 4px;
    selection-background-color: {ACCENT}; selection-color: white;
}}
QListWidget:focus, QListView:focus, QTableView:focus {{ border: 2px solid {ACCENT}; }}
QListWidget#steps {{ font-size: 11pt; padding: 4px; }}
QListWidget#steps::item {{ padding: 8px 6px; border-radius: 4px; }}
QListWidget#steps::item:selected {{ background: {ACCENT}; color: white; }}
QMenuBar {{ background: {CARD}; border-bottom: 1px solid {LINE}; }}
QMenuBar::item:selected {{ background: {ACCENT_SOFT}; }}
QMenu {{ background: {CARD}; border: 1px solid {LINE}; }}
QMenu::item:selected {{ background: {ACCENT}; color: white; }}
QStatusBar {{ background: {CARD}; border-top: 1px solid {LINE}; }}
QToolTip {{ background: {INK}; color: white; border: none; padding: 4px; }}
"""


def apply_theme(app: QApplication) -> None:
    """The desk's look, and Qt's own dialogs in the desk's language (every entry point
    that makes the application calls this once)."""
    from mppdesk.ui.qt_words import install_qt_words

    install_qt_words(app)
    app.setStyle("Fusion")
    font = QFont(app.font())
    font.setPointSizeF(max(font.pointSizeF(), 10.5))
    app.setFont(font)
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(GROUND))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(INK))
    palette.setColor(QPalette.ColorRole.Base, QColor(CARD))
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#f6f8fa"))
    palette.setColor(QPalette.ColorRole.Text, QColor(INK))
    palette.setColor(QPalette.ColorRole.Button, QColor(CARD))
    palette.setColor(QPalette.ColorRole.ButtonText, QColor(INK))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("white"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#6b7482"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(INK))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor("white"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE)
