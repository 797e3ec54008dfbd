"""The region cascade: province → regency/city → district → village, with completion.

Two ways in, both by keyboard: type any part of a village (or regency …) name in the search
box and pick from the completer, which fills the whole cascade; or walk the cascade, each
level an editable combo box that completes on any part of the name. The value is the
Kemendagri code at the field's level; the engine checks it like a typed code.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QGridLayout, QLineEdit, QWidget

from mppdesk.forms import indonesia
from mppdesk.forms.definitions import FieldDef
from mppdesk.ui.fields import Editor, OnChange
from mppdesk.ui.i18n import text_of, tr

_LEVEL_KEYS = ("region.province", "region.regency", "region.district", "region.village")
_LENGTHS = (2, 4, 6, 10)


def region_path(code: str) -> str:
    """ "Rungkut Kidul, Rungkut, Kota Surabaya, Jawa Timur" for a village code."""
    names = []
    for length in _LENGTHS:
        if len(code) < length:
            break
        found = indonesia.region(code[:length])
        if found is not None:
            names.append(found.name)
    return ", ".join(reversed(names))


class RegionEditor(Editor):
    def __init__(
        self,
        field_def: FieldDef,
        on_change: OnChange,
        object_name: str | None = None,
        parent: QWidget | None = None,
    ):
        self.field = field_def
        self.on_change = on_change
        level = field_def.region_level.value if field_def.region_level else indonesia.VILLAGE
        self.depth = indonesia.LEVELS.index(level) + 1
        base = object_name or field_def.id
        box = QWidget(parent)
        box.setObjectName(base)
        box.setAccessibleName(text_of(field_def.label))
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)

        self.search = QLineEdit(box)
        self.search.setObjectName(f"{base}.search")
        self.search.setAccessibleName(f"{text_of(field_def.label)}: {tr('region.search')}")
        self.search.setPlaceholderText(tr("region.search"))
        self.search.setClearButtonEnabled(True)
        self._matches: dict[str, str] = {}
        self._model = QStringListModel()
        completer = QCompleter(self._model, self.search)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        completer.setMaxVisibleItems(12)
        self.search.setCompleter(completer)
        self.search.textEdited.connect(self._search_edited)
        self.search.returnPressed.connect(self._take_best)
        completer.activated.connect(self._search_chosen)
        grid.addWidget(self.search, 0, 0, 1, 2)

        self.combos: list[QComboBox] = []
        for index in range(self.depth):
            combo = QComboBox(box)
            combo.setEditable(True)
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            combo.setObjectName(f"{base}.{indonesia.LEVELS[index]}")
            combo.setAccessibleName(f"{text_of(field_def.label)}: {tr(_LEVEL_KEYS[index])}")
            combo.lineEdit().setPlaceholderText(tr(_LEVEL_KEYS[index]))
            combo_completer = combo.completer()
            combo_completer.setFilterMode(Qt.MatchFlag.MatchContains)
            combo_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            combo_completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
            combo.setMinimumWidth(150)
            combo.currentIndexChanged.connect(lambda _i, level=index: self._level_chosen(level))
            combo.lineEdit().textEdited.connect(lambda _t: on_change())
            grid.addWidget(combo, 1 + index // 2, index % 2)
            self.combos.append(combo)
        box.setMaximumWidth(640)
        self.widget = box
        self._filling = False
        self._suggested: str | None = None  # a start from the NIK, not yet an answer
        self._fill(0, None)

    # --- cascade ---------------------------------------------------------------------

    def _fill(self, level: int, parent: str | None, select: str | None = None) -> None:
        combo = self.combos[level]
        self._filling = True
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("", None)
        if level == 0 or parent:
            for child in indonesia.children(parent):
                combo.addItem(child.name, child.code)
        index = combo.findData(select) if select else 0
        combo.setCurrentIndex(max(index, 0))
        if index <= 0:
            combo.setEditText("")
        combo.blockSignals(False)
        self._filling = False
        for lower in range(level + 1, self.depth):
            below = self.combos[lower]
            below.blockSignals(True)
            below.clear()
            below.setEditText("")
            below.blockSignals(False)

    def _level_chosen(self, level: int) -> None:
        if self._filling:
            return
        if level < self.depth - 1:
            self._suggested = None  # the officer changed the start: it is theirs now
        code = self.combos[level].currentData()
        if level + 1 < self.depth:
            self._fill(level + 1, code)
        self.on_change()

    # --- search ----------------------------------------------------------------------

    def _search_edited(self, text: str) -> None:
        level = indonesia.LEVELS[self.depth - 1]
        found = []
        if len(text.strip()) >= 3:
            if self._suggested is not None:  # the NIK's district first: "kid" finds its village
                found = indonesia.search(text, level=level, parent=self._suggested, limit=15)
            found += indonesia.search(text, level=level, limit=15)
        self._matches = {}
        for item in found:
            if len(self._matches) < 15:
                self._matches.setdefault(region_path(item.code), item.code)
        self._model.setStringList(list(self._matches))
        if self._matches:  # the completer ran before this keystroke's matches were known
            self.search.completer().complete()

    def _take_best(self) -> None:
        """Enter without choosing from the list takes its first (best) match."""
        if self._matches and self.search.text().strip():
            self._search_chosen(next(iter(self._matches)))

    def _search_chosen(self, text: str) -> None:
        code = self._matches.get(text)
        if code is None:
            return
        self.set_value(code)
        self.search.clear()
        self.on_change()
        # The whole cascade is filled: on to the field after the region (Shift+Tab goes back).
        last = self.combos[-1]
        last.setFocus(Qt.FocusReason.OtherFocusReason)
        following = last.nextInFocusChain()
        while following is not None and following is not last:
            if self.widget.isAncestorOf(following):
                following = following.nextInFocusChain()  # the combos' own line edits
                continue
            if (
                following.isVisible()
                and following.isEnabled()
                and (following.focusPolicy() & Qt.FocusPolicy.TabFocus) == Qt.FocusPolicy.TabFocus
            ):
                following.setFocus(Qt.FocusReason.TabFocusReason)
                break
            following = following.nextInFocusChain()

    # --- editor ----------------------------------------------------------------------

    def suggest(self, code: str) -> None:
        """Fill the levels above the field's own from a code prefix (the district of a NIK),
        leaving the last level to pick: the officer types a few letters of the village."""
        code = indonesia.normalize_code(code) or ""
        levels = [n for n, length in enumerate(_LENGTHS[: self.depth - 1]) if len(code) >= length]
        if not levels or self.value() is not None:
            return
        if indonesia.region(code[: _LENGTHS[levels[-1]]]) is None:
            return  # an old code from before a split: nothing to start from
        self._fill(0, None, code[:2])
        for level in levels[1:]:
            self._fill(level, code[: _LENGTHS[level - 1]], code[: _LENGTHS[level]])
        self._fill(levels[-1] + 1, code[: _LENGTHS[levels[-1]]])
        self._suggested = code[: _LENGTHS[levels[-1]]]

    def value(self) -> Any:
        last = self.combos[-1]
        code = last.currentData()
        if code:
            return code
        typed = last.currentText().strip()
        if typed:
            return typed  # the engine explains that a name is not a code
        if self._suggested is not None:
            return None  # only the NIK's start: nothing answered yet
        for combo in self.combos[:-1]:
            if combo.currentText().strip():
                return combo.currentData() or combo.currentText().strip()
        return None

    def set_value(self, value: Any) -> None:
        code = indonesia.normalize_code(value) if isinstance(value, str) else None
        if code is None or len(code) != _LENGTHS[self.depth - 1]:
            if value is None:
                self._fill(0, None)
            else:
                self.combos[-1].setEditText(str(value))
            return
        if self.value() == code:
            return
        self._fill(0, None, code[:2])
        for level in range(1, self.depth):
            self._fill(level, code[: _LENGTHS[level - 1]], code[: _LENGTHS[level]])

    def focus_widgets(self) -> list[QWidget]:
        return [self.search, *self.combos]

    def set_invalid(self, invalid: bool) -> None:
        widget = self.combos[-1]
        if widget.property("invalid") != invalid:
            widget.setProperty("invalid", invalid)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
