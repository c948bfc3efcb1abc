"""The prompt box: word-by-word completion from the vocabulary and inline validation as one types."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ...core.data.shapes import PromptError, parse_prompt
from ...core.data.tokenizer import next_words

ERROR_STYLE = "QLineEdit { border: 2px solid #e05252; border-radius: 3px; padding: 2px; }"
OK_STYLE = "QLineEdit { border: 1px solid #3b4a5a; border-radius: 3px; padding: 3px; }"
PROMPT_FONT = "font-size: 15pt;"


class PromptEdit(QWidget):
    """A prompt line with word-by-word completion from the vocabulary and inline validation.

    `validity_changed(ok)` fires when the text turns valid or invalid; the message under the
    box names the unknown word and lists the vocabulary (the parser's own error), or shows
    the canonical reading of a valid prompt.
    """

    validity_changed = Signal(bool)
    submitted = Signal()  # Return pressed in the box

    def __init__(self, label: str, placeholder: str, empty_means: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.empty_means = empty_means
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        row = QHBoxLayout()
        name = QLabel(label)
        name.setMinimumWidth(70)
        name.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.edit.setStyleSheet(OK_STYLE + "QLineEdit {" + PROMPT_FONT + "}")
        row.addWidget(name)
        row.addWidget(self.edit, 1)
        layout.addLayout(row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setContentsMargins(74, 0, 0, 0)
        layout.addWidget(self.message)
        self.completions = QStringListModel(self)
        self.completer = QCompleter(self.completions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.edit.setCompleter(self.completer)
        self.valid = True
        self.error = ""
        self.free_text: Callable[[str], list[str]] | None = None  # a model's own tokenizer (`set_free_text`)
        self.edit.textChanged.connect(self._validate)
        self.edit.textEdited.connect(self._update_completions)
        self.edit.returnPressed.connect(self.submitted)
        self._validate(self.edit.text())

    def text(self) -> str:
        return self.edit.text()

    def close_popup(self) -> None:
        """Hide the completion list (on render: an open popup would swallow the next click)."""
        self.completer.popup().hide()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)

    def set_free_text(self, tokens: Callable[[str], list[str]] | None) -> None:
        """Free text, read by a model's own tokenizer (`tokens(text)` -> the tokens it reads; a diffusers
        model's), instead of the shapes grammar with its completion; None: the grammar again."""
        if (tokens is None) != (self.free_text is None):  # the grammar's completion only for the grammar
            self.edit.setCompleter(None if tokens is not None else self.completer)
        self.free_text = tokens
        self._validate(self.edit.text())

    def completion_candidates(self, text: str) -> list[str]:
        """Whole-line completions: the text up to the word being typed, plus each word that may come next."""
        head = text if not text or text[-1].isspace() else text[: len(text) - len(text.split()[-1])]
        return [head + word for word in next_words(text)]

    def _update_completions(self, text: str) -> None:
        if self.free_text is not None:
            return
        self.completions.setStringList(self.completion_candidates(text))
        self.completer.setCompletionPrefix(text)
        if text and self.edit.hasFocus():
            self.completer.complete()

    def _validate(self, text: str) -> None:
        if self.free_text is not None:
            self._show_tokens(text)
            return
        try:
            canonical = parse_prompt(text).text()
        except PromptError as exc:
            ok, self.error = False, str(exc)
            self.message.setText(f"<span style='color:#ff7b7b'>{exc}</span>")
            self.edit.setStyleSheet(ERROR_STYLE + "QLineEdit {" + PROMPT_FONT + "}")
        else:
            ok, self.error = True, ""
            reading = f"reads as: <b>{canonical}</b>" if canonical else self.empty_means
            self.message.setText(f"<span style='color:#8a8f98'>{reading}</span>" if reading else "")
            self.edit.setStyleSheet(OK_STYLE + "QLineEdit {" + PROMPT_FONT + "}")
        self._shown(ok)

    def _show_tokens(self, text: str) -> None:
        """Any text is a prompt: say how the model's tokenizer reads it (its tokens, markers left out)."""
        words = [t for t in self.free_text(text) if not (t.startswith("<|") and t.endswith("|>"))] if text.strip() else []
        reading = f"{len(words)} tokens: " + " · ".join(words[:24]) + (" …" if len(words) > 24 else "") if words \
            else self.empty_means
        self.error = ""
        self.message.setText(f"<span style='color:#8a8f98'>{reading}</span>" if reading else "")
        self.edit.setStyleSheet(OK_STYLE + "QLineEdit {" + PROMPT_FONT + "}")
        self._shown(True)

    def _shown(self, ok: bool) -> None:
        self.message.setVisible(bool(self.message.text()))  # no empty line under an empty optional box
        if ok != self.valid:
            self.valid = ok
            self.validity_changed.emit(ok)
