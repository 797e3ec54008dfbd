"""One editor per catalog field type, built from a ``FieldDef``.

An editor hands the form engine the raw value (text as typed, a list for multichoice, rows
for a group); the engine alone decides what is valid, so the UI never repeats a rule.
Every editor's main widget carries the field id as ``objectName`` and the label as its
accessible name, so tests, screen readers and the tour find fields the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.forms.definitions import FieldDef, FieldType
from mppdesk.ui.i18n import plain, text_of, tr

OnChange = Callable[[], None]

_LINE_TYPES = frozenset(
    {
        FieldType.TEXT,
        FieldType.INTEGER,
        FieldType.DECIMAL,
        FieldType.MONEY,
        FieldType.DATE,
        FieldType.TIME,
        FieldType.NIK,
        FieldType.KK,
        FieldType.NPWP,
        FieldType.PHONE,
        FieldType.EMAIL,
        FieldType.POSTALCODE,
        FieldType.PASSPORT,
        FieldType.KITAS,
    }
)
_DIGIT_TYPES = {FieldType.NIK: 16, FieldType.KK: 16, FieldType.POSTALCODE: 5}
MAX_EDIT_WIDTH = 560  # long lines are hard to read; the form stays compact on wide screens


def display_value(field_def: FieldDef, value: Any) -> str:
    """A stored value as the officer types it (dates as DD-MM-YYYY, money grouped)."""
    if value is None:
        return ""
    if field_def.type == FieldType.DATE and isinstance(value, str | date):
        try:
            day = value if isinstance(value, date) else date.fromisoformat(value)
        except ValueError:
            return str(value)
        return f"{day:%d-%m-%Y}"
    if field_def.type == FieldType.MONEY and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", ".")
    if field_def.type == FieldType.DECIMAL and isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", ",")
    return str(value)


def accepts_digit_dates() -> bool:
    """Dates may be typed as digits alone (DDMMYYYY): the editor places the dashes."""
    return True


def dashed_date(text: str) -> str | None:
    """``text`` with the dashes of DD-MM-YYYY placed, when it is digits typed without them.

    "28" stays, "280" becomes "28-0", "28011995" becomes "28-01-1995": the officer types the
    eight digits printed on the KTP and never a separator. Text holding anything but digits
    (a pasted "28/01/1995", an ISO date) is left to the engine: None.
    """
    digits = text.replace("-", "")
    if not digits.isdigit() or len(digits) > 8:
        return None
    if any(ch == "-" and i not in (2, 5) for i, ch in enumerate(text)):
        return None  # dashes elsewhere (an ISO date): leave it as typed
    return _dashes(digits)


@dataclass(frozen=True)
class NikFacts:
    """What a well-formed NIK tells about its holder, to pre-fill (always editable)."""

    birth_date: date
    sex: str  # "L" or "P"
    district: str  # the 6-digit Kemendagri code of the district of registration


def nik_facts(text: str, today: date | None = None) -> NikFacts | None:
    """The birth date, sex and district a NIK encodes; None unless the NIK is acceptable."""
    from mppdesk.forms.validators import check_nik, decode_nik

    if not isinstance(text, str) or not check_nik(text, today=today).ok:
        return None
    info = decode_nik(text, today=today)
    if info.birth_date is None:
        return None
    return NikFacts(info.birth_date, info.sex, info.district)


def _dashes(digits: str) -> str:
    parts = [digits[:2], digits[2:4], digits[4:8]]
    return "-".join(part for part in parts if part)


class Editor:
    """The common face of every editor: a widget, its raw value, its focus stops."""

    field: FieldDef
    widget: QWidget

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def focus_widgets(self) -> list[QWidget]:
        return [self.widget]

    def set_invalid(self, invalid: bool) -> None:
        widget = self.focus_widgets()[0] if self.focus_widgets() else self.widget
        if widget.property("invalid") != invalid:
            widget.setProperty("invalid", invalid)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def set_described(self, description: str) -> None:
        for widget in self.focus_widgets():
            widget.setAccessibleDescription(description)


def _name(widget: QWidget, field_def: FieldDef, object_name: str | None = None) -> None:
    widget.setObjectName(object_name or field_def.id)
    widget.setAccessibleName(text_of(field_def.label))
    if field_def.hint is not None:
        widget.setToolTip(text_of(field_def.hint))


class LineEditor(Editor):
    def __init__(
        self,
        field_def: FieldDef,
        on_change: OnChange,
        object_name: str | None = None,
        parent: QWidget | None = None,
    ):
        self.field = field_def
        edit = QLineEdit(parent)
        self.widget = edit
        _name(edit, field_def, object_name)
        kind = field_def.type
        if kind in _DIGIT_TYPES:
            edit.setMaxLength(_DIGIT_TYPES[kind] + 4)  # room for spaces or dots in a paste
            edit.setPlaceholderText("0" * _DIGIT_TYPES[kind])
        elif kind == FieldType.DATE:
            edit.setPlaceholderText(tr("field.date_placeholder"))
            edit.setMaxLength(10)
            edit.setProperty("fieldType", "date")
        elif kind == FieldType.TIME:
            edit.setPlaceholderText(tr("field.time_placeholder"))
            edit.setMaxLength(5)
        elif kind == FieldType.MONEY:
            edit.setPlaceholderText(tr("field.money_placeholder"))
            edit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif kind in (FieldType.INTEGER, FieldType.DECIMAL):
            edit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif kind == FieldType.PHONE:
            edit.setPlaceholderText("08…")
        elif field_def.max_length:
            edit.setMaxLength(field_def.max_length + 20)  # the engine explains "too long"
        if kind in (FieldType.DATE, FieldType.TIME, FieldType.POSTALCODE):
            edit.setMaximumWidth(160)
        elif kind in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY):
            edit.setMaximumWidth(220)
        elif kind in _DIGIT_TYPES or kind in (FieldType.NPWP, FieldType.PHONE):
            edit.setMaximumWidth(260)
        elif field_def.max_length is not None and field_def.max_length <= 5:
            edit.setMaximumWidth(100)
        elif field_def.max_length is not None and field_def.max_length <= 30:
            edit.setMaximumWidth(340)
        else:
            edit.setMaximumWidth(MAX_EDIT_WIDTH)
        if field_def.hint is not None and kind not in _DIGIT_TYPES:
            hint = text_of(field_def.hint)
            if len(hint) <= 60 and not edit.placeholderText():
                edit.setPlaceholderText(hint)
        if field_def.readonly or field_def.compute:
            edit.setReadOnly(True)
            edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            edit.setPlaceholderText(tr("field.computed"))
        if kind == FieldType.DATE:
            edit.textEdited.connect(self._place_dashes)
        edit.textEdited.connect(lambda _text: on_change())

    def _place_dashes(self, text: str) -> None:
        """Digits typed into a date get their dashes as they come (Backspace still works:
        a dash the officer deleted is not put back until the next digit)."""
        dashed = dashed_date(text)
        edit = self.widget
        if dashed is None or dashed == text or len(dashed) < len(text):
            return
        if edit.cursorPosition() != len(text):
            return  # editing in the middle: leave the officer's text alone
        edit.setText(dashed)
        edit.setCursorPosition(len(dashed))

    def value(self) -> Any:
        text = self.widget.text()
        return text if text.strip() else None

    def set_value(self, value: Any) -> None:
        text = display_value(self.field, value)
        if self.widget.text() != text:
            self.widget.setText(text)

    def focus_widgets(self) -> list[QWidget]:
        if self.widget.isReadOnly():
            return []
        return [self.widget]

    def set_invalid(self, invalid: bool) -> None:
        widget = self.widget
        if widget.property("invalid") != invalid:
            widget.setProperty("invalid", invalid)
            widget.style().unpolish(widget)
            widget.style().polish(widget)


class TextAreaEditor(Editor):
    def __init__(
        self,
        field_def: FieldDef,
        on_change: OnChange,
        object_name: str | None = None,
        parent: QWidget | None = None,
    ):
        self.field = field_def
        edit = QPlainTextEdit(parent)
        edit.setTabChangesFocus(True)  # Tab leaves the box: keyboard-first
        edit.setFixedHeight(64)
        edit.setMaximumWidth(MAX_EDIT_WIDTH)
        self.widget = edit
        _name(edit, field_def, object_name)
        edit.textChanged.connect(on_change)

    def value(self) -> Any:
        text = self.widget.toPlainText()
        return text if text.strip() else None

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.widget.toPlainText() != text:
            self.widget.setPlainText(text)


class ChoiceCombo(QComboBox):
    """A combo box whose typed letters find a choice by the start of its label, as Qt's do,
    or else by the start of any word in it: "3" picks "Kelas 3", "hil" picks "Penggantian
    karena hilang" — one key where the arrow keys took several."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._typed = ""
        self._typed_at = 0.0

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        text = event.text()
        plain_key = not event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier
        if plain_key and text and text.isprintable() and not text.isspace():
            now = time.monotonic()
            interval = QApplication.keyboardInputInterval() / 1000
            self._typed = (self._typed if now - self._typed_at <= interval else "") + text
            self._typed_at = now
            index = self._find(self._typed)
            if index < 0 and len(self._typed) > 1:  # a new first letter starts a new search
                self._typed = text
                index = self._find(text)
            if index >= 0:
                self.setCurrentIndex(index)
            return
        super().keyPressEvent(event)

    def _find(self, typed: str) -> int:
        wanted = typed.casefold()
        labels = [self.itemText(i).casefold() for i in range(self.count())]
        for i, label in enumerate(labels):
            if i and label.startswith(wanted):
                return i
        for i, label in enumerate(labels):
            if i and any(word.startswith(wanted) for word in label.split()):
                return i
        return -1


class ChoiceEditor(Editor):
    """Choices and yes/no in a combo box: type the first letters to pick, Space to open."""

    def __init__(
        self,
        field_def: FieldDef,
        on_change: OnChange,
        object_name: str | None = None,
        parent: QWidget | None = None,
    ):
        self.field = field_def
        combo = ChoiceCombo(parent)
        combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        combo.addItem(tr("field.choose"), None)
        if field_def.type == FieldType.YESNO:
            combo.addItem(tr("field.yes"), True)
            combo.addItem(tr("field.no"), False)
        else:
            for choice in field_def.choices or ():
                combo.addItem(text_of(choice.label), choice.value)
        combo.setMinimumWidth(180)
        combo.setMaximumWidth(420)
        self.widget = combo
        _name(combo, field_def, object_name)
        combo.currentIndexChanged.connect(lambda _i: on_change())

    def value(self) -> Any:
        return self.widget.currentData()

    def set_value(self, value: Any) -> None:
        combo = self.widget
        if isinstance(value, str) and self.field.type == FieldType.YESNO:
            value = {"ya": True, "true": True, "tidak": False, "false": False}.get(
                value.strip().casefold(), value
            )
        index = 0
        if value is not None:
            for i in range(1, combo.count()):
                data = combo.itemData(i)
                if data == value or (
                    isinstance(value, str)
                    and isinstance(data, str)
                    and data.casefold() == value.casefold()
                ):
                    index = i
                    break
        if combo.currentIndex() != index:
            combo.setCurrentIndex(index)


class MultiChoiceEditor(Editor):
    def __init__(
        self,
        field_def: FieldDef,
        on_change: OnChange,
        object_name: str | None = None,
        parent: QWidget | None = None,
    ):
        self.field = field_def
        box = QWidget(parent)
        layout = QGridLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(16)
        self.boxes: list[tuple[str, QCheckBox]] = []
        columns = 2 if len(field_def.choices or ()) > 3 else 1
        for i, choice in enumerate(field_def.choices or ()):
            check = QCheckBox(text_of(choice.label), box)
            check.setObjectName(f"{object_name or field_def.id}.{choice.value}")
            check.setAccessibleName(f"{text_of(field_def.label)}: {text_of(choice.label)}")
            check.toggled.connect(lambda _on: on_change())
            layout.addWidget(check, i // columns, i % columns)
            self.boxes.append((choice.value, check))
        self.widget = box
        _name(box, field_def, object_name)

    def value(self) -> Any:
        chosen = [value for value, check in self.boxes if check.isChecked()]
        return chosen or None

    def set_value(self, value: Any) -> None:
        wanted = set(value or ()) if isinstance(value, list | tuple) else set()
        for choice, check in self.boxes:
            if check.isChecked() != (choice in wanted):
                check.setChecked(choice in wanted)

    def focus_widgets(self) -> list[QWidget]:
        return [check for _value, check in self.boxes]

    def set_invalid(self, invalid: bool) -> None:
        pass


class FileEditor(Editor):
    """A file field names one of the service's attachments; the button attaches a new one."""

    def __init__(
        self,
        field_def: FieldDef,
        on_change: OnChange,
        object_name: str | None = None,
        pick_file: Callable[[Editor], None] | None = None,
        parent: QWidget | None = None,
    ):
        self.field = field_def
        box = QWidget(parent)
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox(box)
        self.combo.addItem(tr("field.choose"), None)
        _name(self.combo, field_def, object_name)
        self.combo.currentIndexChanged.connect(lambda _i: on_change())
        self.button = QPushButton(plain("field.choose_file"), box)
        self.button.setAccessibleName(f"{text_of(field_def.label)}: {plain('field.choose_file')}")
        if pick_file is not None:
            self.button.clicked.connect(lambda: pick_file(self))
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.button)
        self.widget = box

    def set_choices(self, names: list[str]) -> None:
        current = self.value()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(tr("field.choose"), None)
        for name in names:
            self.combo.addItem(name, name)
        self.combo.blockSignals(False)
        self.set_value(current)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        index = self.combo.findData(value) if value is not None else 0
        if index < 0:
            self.combo.addItem(str(value), value)
            index = self.combo.count() - 1
        if self.combo.currentIndex() != index:
            self.combo.setCurrentIndex(index)

    def focus_widgets(self) -> list[QWidget]:
        return [self.combo, self.button]


class GroupEditor(Editor):
    """A repeat group: one small card per row (its fields two by two), added and removed
    by key; "add row" heads the group, then the focus walks each card left to right, top to
    bottom, and on to the next field."""

    COLUMNS = 2

    def __init__(
        self,
        field_def: FieldDef,
        on_change: OnChange,
        object_name: str | None = None,
        on_structure: OnChange | None = None,
        parent: QWidget | None = None,
    ):
        self.field = field_def
        self.on_change = on_change
        self.on_structure = on_structure or on_change
        self.base = object_name or field_def.id
        frame = QWidget(parent)
        self.outer = QVBoxLayout(frame)
        self.outer.setContentsMargins(0, 0, 0, 0)
        self.outer.setSpacing(6)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("+ " + tr("field.add_row"), frame)
        self.add_button.setObjectName(f"{self.base}.add")
        self.add_button.setAccessibleName(f"{text_of(field_def.label)}: {tr('field.add_row')}")
        self.add_button.clicked.connect(self._add_clicked)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        self.outer.addLayout(buttons)
        self.rows: list[tuple[QWidget, list[Editor], QPushButton]] = []
        self.widget = frame
        frame.setObjectName(self.base)
        frame.setAccessibleName(text_of(field_def.label))
        frame.setMaximumWidth(MAX_EDIT_WIDTH + 80)

    def _add_clicked(self) -> None:
        self.add_row()
        editors = self.rows[-1][1]
        self.on_structure()
        stops = [w for e in editors for w in e.focus_widgets()]
        if stops:
            stops[0].setFocus(Qt.FocusReason.TabFocusReason)

    def add_row(self, values: dict[str, Any] | None = None) -> None:
        index = len(self.rows)
        card = QFrame(self.widget)
        card.setObjectName("groupRow")
        grid = QGridLayout(card)
        grid.setContentsMargins(10, 8, 10, 10)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        title = QLabel(tr("field.row", n=index + 1), card)
        title.setObjectName("subheading")
        for column in range(self.COLUMNS):
            grid.setColumnStretch(column, 1)
        grid.addWidget(title, 0, 0)
        remove = QPushButton(tr("field.remove_row"), card)
        remove.setObjectName(f"{self.base}[{index}].remove")
        remove.setAccessibleName(f"{tr('field.remove_row')} {tr('field.row', n=index + 1)}")
        remove.clicked.connect(lambda _c=False, r=index: self._remove(r))
        grid.addWidget(remove, 0, self.COLUMNS - 1, Qt.AlignmentFlag.AlignRight)
        editors: list[Editor] = []
        for position, sub in enumerate(self.field.fields or ()):
            editor = make_editor(sub, self.on_change, f"{self.base}[{index}].{sub.id}", parent=card)
            label = QLabel(text_of(sub.label) + (" *" if sub.required is True else ""), card)
            label.setObjectName("muted")
            stops = editor.focus_widgets()
            if stops:
                label.setBuddy(stops[0])
            row, column = divmod(position, self.COLUMNS)
            grid.addWidget(label, 1 + 2 * row, column)
            grid.addWidget(editor.widget, 2 + 2 * row, column)
            editors.append(editor)
        self.outer.addWidget(card)  # below "add row": Tab goes add → rows → the next field
        self.rows.append((card, editors, remove))
        _prefill_from_nik(editors, self.on_change)
        if values:
            for editor in editors:
                editor.set_value(values.get(editor.field.id))
        at_max = self.field.max_rows is not None and len(self.rows) >= self.field.max_rows
        self.add_button.setEnabled(not at_max)

    def _remove(self, index: int) -> None:
        values = self.value() or []
        del values[index]
        self.set_value(values)
        self.on_structure()
        if self.rows:
            target = self.rows[min(index, len(self.rows) - 1)][1]
            stops = [w for e in target for w in e.focus_widgets()]
            if stops:
                stops[0].setFocus(Qt.FocusReason.TabFocusReason)
                return
        self.add_button.setFocus(Qt.FocusReason.TabFocusReason)

    def _clear(self) -> None:
        for card, _editors, _remove in self.rows:
            self.outer.removeWidget(card)
            card.hide()
            card.deleteLater()
        self.rows = []
        self.add_button.setEnabled(True)

    def value(self) -> Any:
        rows = []
        for _card, editors, _remove in self.rows:
            rows.append({e.field.id: e.value() for e in editors if e.value() is not None})
        return rows or None

    def set_value(self, value: Any) -> None:
        rows = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
        if rows == (self.value() or []):
            return
        self._clear()
        for row in rows:
            self.add_row(row)

    def focus_widgets(self) -> list[QWidget]:
        stops: list[QWidget] = [self.add_button]
        for _card, editors, remove in self.rows:
            stops.append(remove)
            for editor in editors:
                stops += editor.focus_widgets()
        return stops

    def set_invalid(self, invalid: bool) -> None:
        pass

    def apply_rows(self, prefix: str, visible: set[str], bad_paths: set[str]) -> None:
        """Show or hide row fields by their show_if and mark the invalid ones."""
        for index, (_card, editors, _remove) in enumerate(self.rows):
            for editor in editors:
                path = f"{prefix}[{index}].{editor.field.id}"
                if editor.field.show_if is not None:
                    editor.widget.setVisible(path in visible)
                editor.set_invalid(path in bad_paths)


def _prefill_from_nik(editors: list[Editor], on_change: OnChange) -> None:
    """In one row, a NIK typed fills that person's empty birth date and sex (a family member:
    the NIK encodes both, so they are never typed twice). Still editable afterwards."""
    nik = next((e for e in editors if e.field.type == FieldType.NIK), None)
    if nik is None or not isinstance(nik.widget, QLineEdit):
        return
    birth = next(
        (e for e in editors if e.field.type == FieldType.DATE and "lahir" in e.field.id), None
    )
    sex = next((e for e in editors if _is_sex_choice(e.field)), None)

    def fill(text: str) -> None:
        facts = nik_facts(text)
        if facts is None:
            return
        filled = False
        if birth is not None and birth.value() is None:
            birth.set_value(facts.birth_date.isoformat())
            filled = True
        if sex is not None and sex.value() is None:
            sex.set_value(facts.sex)
            filled = True
        if filled:
            on_change()

    nik.widget.textEdited.connect(fill)


def _is_sex_choice(field_def: FieldDef) -> bool:
    values = {c.value for c in field_def.choices or ()}
    return field_def.type == FieldType.CHOICE and values == {"L", "P"}


def make_editor(
    field_def: FieldDef,
    on_change: OnChange,
    object_name: str | None = None,
    *,
    pick_file: Callable[[Editor], None] | None = None,
    on_structure: OnChange | None = None,
    parent: QWidget | None = None,
) -> Editor:
    """The editor of a field type; ``parent`` is the widget it will sit in.

    Created straight in its parent, a widget is styled once: the application style sheet
    re-styles a widget (and everything in it) each time it moves to another parent, which
    made most of the cost of opening a long form.
    """
    kind = field_def.type
    if kind in _LINE_TYPES:
        return LineEditor(field_def, on_change, object_name, parent)
    if kind == FieldType.LONGTEXT:
        return TextAreaEditor(field_def, on_change, object_name, parent)
    if kind in (FieldType.CHOICE, FieldType.YESNO):
        return ChoiceEditor(field_def, on_change, object_name, parent)
    if kind == FieldType.MULTICHOICE:
        return MultiChoiceEditor(field_def, on_change, object_name, parent)
    if kind == FieldType.REGION:
        from mppdesk.ui.region import RegionEditor

        return RegionEditor(field_def, on_change, object_name, parent)
    if kind == FieldType.FILE:
        return FileEditor(field_def, on_change, object_name, pick_file, parent)
    if kind == FieldType.GROUP:
        return GroupEditor(field_def, on_change, object_name, on_structure, parent)
    raise AssertionError(f"no editor for field type {kind}")
