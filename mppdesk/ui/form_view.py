"""A form generated from field definitions, showing what the engine says about each field.

The view builds one row per field (label, editor, messages) in definition order, so the
keyboard's Tab order is the visual order. It never judges a value itself: after every change
the owner evaluates the whole visit and calls ``apply`` with the engine's result, which
shows or hides rows (``show_if``), fills computed values and puts errors and warnings under
their field. A "required" message waits until the officer has touched the field or tried to
finalize, so a fresh form is calm rather than red.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QLayout, QVBoxLayout, QWidget

from mppdesk.forms.definitions import FieldDef, FieldType
from mppdesk.forms.engine import Entry, EntryStatus
from mppdesk.ui.fields import Editor, FileEditor, GroupEditor, display_value, make_editor
from mppdesk.ui.i18n import text_of, tr


@dataclass(frozen=True)
class FieldSpec:
    path: str  # "applicant.nama", "answers.jenis_permohonan"
    field: FieldDef
    required: bool = False


_UNBOUNDED = 16_777_215  # QWIDGETSIZE_MAX


class FieldColumn(QVBoxLayout):
    """A field's editor above its message lines, taking the whole cell of its form row.

    A box layout is only as large as its items allow (message lines would wrap at a short
    editor's width, an editor beside a tall label would sit at the top); this one takes
    the cell, as a plain container widget would, without being a widget the style sheet
    must polish.
    """

    def maximumSize(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(_UNBOUNDED, _UNBOUNDED)


class FieldRow:
    """One field's label, editor and message lines."""

    def __init__(self, spec: FieldSpec, editor: Editor, label: QLabel, column: QVBoxLayout):
        self.spec = spec
        self.editor = editor
        self.label = label
        # The field's column (editor, then message lines made when first needed): a layout,
        # not a widget, so a 40-field form has 40 fewer widgets to style and lay out.
        self.layout = column
        self.error: QLabel | None = None
        self.warning: QLabel | None = None
        self.note: QLabel | None = None
        self.visible = True
        self.shown: tuple[str, str, str] = ("", "", "")

    def _line(self, name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        self.layout.addWidget(label)
        return label

    def set_visible(self, form: QFormLayout, shown: bool) -> None:
        """Show or hide the row; showing a row shows every widget of its column, so empty
        message lines are hidden again."""
        self.visible = shown
        form.setRowVisible(self.layout, shown)
        if shown:
            for label in (self.error, self.warning, self.note):
                if label is not None and not label.text():
                    label.hide()

    def show_messages(self, error: str, warning: str, note: str) -> None:
        if (error, warning, note) == self.shown:
            return
        self.shown = (error, warning, note)
        for attr, name, text in (
            ("error", "message", error),
            ("warning", "warning", warning),
            ("note", "changed", note),
        ):
            label = getattr(self, attr)
            if text and label is None:
                label = self._line(name)
                setattr(self, attr, label)
            if label is not None:
                label.setText(text)
                label.setVisible(bool(text) and self.visible)
        self.editor.set_invalid(bool(error))
        self.editor.set_described(error or warning)


class FormView(QWidget):
    """Rows of generated editors; ``changed(path)`` is called on every edit."""

    def __init__(
        self,
        specs: Iterable[FieldSpec],
        on_change: Callable[[str], None],
        parent: QWidget | None = None,
        *,
        pick_file: Callable[[Editor], None] | None = None,
        on_structure: Callable[[], None] | None = None,
        add_to: QLayout | None = None,
    ):
        super().__init__(parent)
        if add_to is not None:
            # Join the owner's layout before the rows exist: each row is then styled once
            # where it lands, instead of the whole finished form again when it is added.
            add_to.addWidget(self)
        self.on_change = on_change
        self.rows: dict[str, FieldRow] = {}
        self.touched: set[str] = set()
        # Fields showing the catalog's default (WNI, the account holder = the applicant) that
        # the officer has not edited: they follow the engine and are not read back as typed.
        self.defaulted: set[str] = set()
        self._quiet = False
        self.show_all = False
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        self.form = form
        for spec in specs:
            path = spec.path
            editor = make_editor(
                spec.field,
                lambda path=path: self._edited(path),
                pick_file=pick_file,
                on_structure=on_structure,
                parent=self,
            )
            text = text_of(spec.field.label)
            label = QLabel(f"{text} *" if spec.required else text, self)
            label.setObjectName("fieldLabel")
            label.setWordWrap(True)
            label.setMinimumWidth(170)
            label.setMaximumWidth(240)
            stops = editor.focus_widgets()
            if stops:
                label.setBuddy(stops[0])
            if spec.required:
                label.setToolTip(tr("visit.required_marker"))
            column = FieldColumn()
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            form.addRow(label, column)
            column.addWidget(editor.widget)
            self.rows[path] = FieldRow(spec, editor, label, column)

    # --- values ----------------------------------------------------------------------

    def _edited(self, path: str) -> None:
        if self._quiet:
            return
        self.touched.add(path)
        self.defaulted.discard(path)
        self.on_change(path)

    def values(self, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for path, row in self.rows.items():
            if not path.startswith(prefix + "."):
                continue
            if row.spec.field.compute is not None or row.spec.field.readonly:
                continue
            if path in self.defaulted:
                continue  # the engine applies the default itself
            value = row.editor.value()
            if value is not None:
                out[row.spec.field.id] = value
        return out

    def set_values(self, prefix: str, values: dict[str, Any]) -> None:
        """Put stored values into the editors (a draft, a look-up): not an edit by the officer."""
        self._quiet, was = True, self._quiet
        try:
            for path, row in self.rows.items():
                if path.startswith(prefix + "."):
                    value = values.get(row.spec.field.id)
                    if value is None and path in self.defaulted:
                        continue  # still showing the default
                    self.defaulted.discard(path)
                    row.editor.set_value(value)
        finally:
            self._quiet = was

    # --- engine results ---------------------------------------------------------------

    def apply(
        self,
        entries: list[Entry],
        visible: set[str] | None = None,
        computed: dict[str, Any] | None = None,
        notes: dict[str, str] | None = None,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        """Show the engine's answer: visibility, computed values, defaults, messages per field.

        ``defaults`` holds the engine's values (``computed`` when not given): a field with a
        catalog default that the officer has not touched shows it, so it is seen and never
        typed (WNI; the account holder's name follows the applicant's).
        """
        if defaults is None:
            defaults = computed
        by_path: dict[str, list[Entry]] = {}
        group_rows: dict[str, list[Entry]] = {}
        for entry in entries:
            if entry.path in self.rows:
                by_path.setdefault(entry.path, []).append(entry)
                continue
            owner = entry.path.split("[", 1)[0]
            if owner in self.rows:
                group_rows.setdefault(owner, []).append(entry)
        notes = notes or {}
        for path, row in self.rows.items():
            field_def = row.spec.field
            if visible is not None:
                shown = path in visible
                if shown != row.visible:
                    row.set_visible(self.form, shown)
            if computed is not None and (field_def.compute or field_def.readonly):
                row.editor.set_value(computed.get(field_def.id))
            elif defaults is not None:
                self._show_default(path, row, defaults)
            errors, warnings = [], []
            for entry in by_path.get(path, ()):
                message = text_of(entry.message) if entry.message else str(entry.status)
                if entry.status == EntryStatus.WARNING:
                    warnings.append(message)
                elif entry.status == EntryStatus.INVALID or self._show_required(path):
                    errors.append(message)
            bad_rows: set[str] = set()
            for entry in group_rows.get(path, ()):
                message = text_of(entry.message) if entry.message else str(entry.status)
                number = _row_number(entry.path)
                line = f"{tr('field.row', n=number)}: {message}" if number else message
                if entry.status == EntryStatus.WARNING:
                    warnings.append(line)
                elif entry.status == EntryStatus.INVALID or self._show_required(path):
                    errors.append(line)
                    bad_rows.add(entry.path)
            if isinstance(row.editor, GroupEditor):
                row.editor.apply_rows(path, visible or set(), bad_rows)
            row.show_messages("\n".join(errors), "\n".join(warnings), notes.get(path, ""))

    def _show_default(self, path: str, row: FieldRow, defaults: dict[str, Any]) -> None:
        field_def = row.spec.field
        if field_def.default is None and field_def.default_expr is None:
            return
        if path in self.touched or (path not in self.defaulted and row.editor.value() is not None):
            return
        value = defaults.get(field_def.id)
        self._quiet = True
        try:
            row.editor.set_value(value)
        finally:
            self._quiet = False
        if value is None:
            self.defaulted.discard(path)
        else:
            self.defaulted.add(path)

    def _show_required(self, path: str) -> bool:
        return self.show_all or path in self.touched

    def reveal_all(self) -> None:
        self.show_all = True

    # --- keyboard ----------------------------------------------------------------------

    def focus_stops(self) -> list[QWidget]:
        stops: list[QWidget] = []
        for row in self.rows.values():
            if row.visible:
                stops += row.editor.focus_widgets()
        return stops

    def all_focus_stops(self) -> list[QWidget]:
        """Every row's stops, hidden ones too: the Tab chain is set once, Qt skips the hidden."""
        stops: list[QWidget] = []
        for row in self.rows.values():
            stops += row.editor.focus_widgets()
        return stops

    def widget_for(self, path: str) -> QWidget | None:
        owner = path if path in self.rows else path.split("[", 1)[0]
        row = self.rows.get(owner)
        if row is None:
            return None
        stops = row.editor.focus_widgets()
        if isinstance(row.editor, GroupEditor) and "[" in path:
            name = path.split(".", 1)[1] if "." in path else path
            for widget in stops:
                if widget.objectName() == name:
                    return widget
        return stops[0] if stops else row.editor.widget

    def file_editors(self) -> list[FileEditor]:
        return [r.editor for r in self.rows.values() if isinstance(r.editor, FileEditor)]


def _row_number(path: str) -> int | None:
    if "[" not in path:
        return None
    try:
        return int(path.split("[", 1)[1].split("]", 1)[0]) + 1
    except ValueError:
        return None


def specs_for_service(catalog: Any, code: str) -> list[FieldSpec]:
    service = catalog.service(code)
    return [
        FieldSpec(f"answers.{f.id}", f, f.required is True and f.compute is None)
        for f in service.fields
    ]


def specs_for_shared(catalog: Any, field_ids: list[str], required: set[str]) -> list[FieldSpec]:
    return [
        FieldSpec(f"applicant.{fid}", catalog.shared_fields[fid], fid in required)
        for fid in field_ids
    ]


def display_of(field_def: FieldDef, value: Any) -> str:
    """A stored value as words, for "was: …" notes and the summary."""
    if value is None or value == "":
        return "—"
    if field_def.type in (FieldType.CHOICE, FieldType.MULTICHOICE) and field_def.choices:
        labels = {c.value: text_of(c.label) for c in field_def.choices}
        if isinstance(value, list):
            return ", ".join(labels.get(v, str(v)) for v in value)
        return labels.get(value, str(value))
    if field_def.type == FieldType.YESNO:
        return (
            tr("field.yes") if value is True else tr("field.no") if value is False else str(value)
        )
    if field_def.type == FieldType.REGION and isinstance(value, str):
        from mppdesk.ui.region import region_path

        return region_path(value) or value
    return display_value(field_def, value)
