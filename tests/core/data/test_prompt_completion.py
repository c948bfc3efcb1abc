"""Completing a prompt word by word from the shapes vocabulary, in the spec's order."""

from __future__ import annotations

from playground.core.data.tokenizer import next_words


def test_completion_offers_the_words_that_may_come_next():
    assert next_words("a large re") == ["red"]
    assert next_words("blue t") == ["triangle", "top"]
    assert next_words("a large red ") == ["at", "circle", "square", "triangle", "plus", "top", "bottom", "left",
                                          "right", "center"]
    assert next_words("red circle at ") == ["the"]
    assert next_words("red circle at the ") == ["top", "bottom", "left", "right", "center"]
    assert next_words("circle at the top ") == ["left", "right"]
    assert "a" in next_words("") and "a" not in next_words("red ")


def test_nothing_follows_a_finished_or_broken_prompt():
    assert next_words("a small red circle at the top left ") == []
    assert next_words("a red dog ") == []
    assert next_words("circle red") == []  # colour after shape is out of order
