"""A number typed by hand, checked as it is typed against its real range (`core.checks`).

A spin box clamps a value it does not like, or refuses the keystroke, and says nothing: a
user who types 0 steps or a seed past 2^31 sees another number and no reason. This field
keeps what was typed, marks it red and says, inline and in its tooltip, which setting it
is and what range it takes; `value()` raises the same message, so a Run never starts on
a value the user did not see accepted. Up and Down step the value as a spin box does.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QSizePolicy

from ....core.checks import FloatRange, IntRange

INVALID_STYLE = "QLineEdit { border: 1px solid #e05252; background: #3a2020; }"
MESSAGE_STYLE = "color: #ff8a8a;"


def message_label() -> QLabel:
    """The inline place for a typing error: red, empty (and hidden) while there is none."""
    label = QLabel("")
    label.setStyleSheet(MESSAGE_STYLE)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the window
    label.setVisible(False)
    return label


def show_problem(widget: QLineEdit, label: QLabel | None, problem: str, tooltip: str) -> None:
    """Mark `widget` red with `problem` (or clear the mark when it is "")."""
    widget.setStyleSheet(INVALID_STYLE if problem else "")
    widget.setToolTip(problem or tooltip)
    if label is not None:
        label.setText(problem)
        label.setVisible(bool(problem))


class NumberField(QLineEdit):
    """`edited` when the text becomes a valid, different value; `problem_changed(message)` when
    the text's problem changes ("" once it is fixed)."""

    edited = Signal()
    problem_changed = Signal(str)

    def __init__(self, name: str, allowed: IntRange | FloatRange, value: float, *, step: float = 1,
                 width: int = 64, tooltip: str = ""):
        super().__init__()
        self.name = name
        self.allowed = allowed
        self.step = step
        self.base_tooltip = tooltip
        self.problem = ""
        self._last = value
        self.setFixedWidth(width)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setText(self._format(value))
        self.setToolTip(tooltip)
        self.textChanged.connect(lambda _: self._recheck(user=False))
        self.textEdited.connect(lambda _: self._recheck(user=True))

    @property
    def is_int(self) -> bool:
        return isinstance(self.allowed, IntRange)

    def value(self) -> float:
        """The typed value; a RangeError (ValueError) naming the setting and its range otherwise."""
        return self.allowed.check(self.text(), self.name)

    def set_value(self, value: float) -> None:
        """Show `value` (from a run or a recipe) without emitting `edited`."""
        self._last = value
        self.setText(self._format(value))

    def set_allowed(self, allowed: IntRange | FloatRange) -> None:
        """A new range (steps up to a new model's schedule length): the text is checked again."""
        self.allowed = allowed
        self._recheck(user=False)

    def _format(self, value: float) -> str:
        return str(int(value)) if self.is_int else f"{float(value):g}"

    def _recheck(self, user: bool) -> None:
        try:
            value = self.value()
            problem = ""
        except ValueError as exc:
            value, problem = None, str(exc)
        if problem != self.problem:
            self.problem = problem
            show_problem(self, None, problem, self.base_tooltip)
            self.problem_changed.emit(problem)
        if user and value is not None and value != self._last:
            self._last = value
            self.edited.emit()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        delta = {Qt.Key.Key_Up: 1, Qt.Key.Key_Down: -1}.get(event.key())
        if delta is None:
            super().keyPressEvent(event)
            return
        try:
            current = self.value()
        except ValueError:
            return
        low = self.allowed.low
        high = self.allowed.high if self.allowed.high is not None else float("inf")
        stepped = min(max(current + delta * self.step, low), high)
        stepped = int(stepped) if self.is_int else round(stepped, 6)
        if stepped != current:
            self.setText(self._format(stepped))
            self._recheck(user=True)
