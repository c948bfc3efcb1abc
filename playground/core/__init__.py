"""The headless core: data, models, training, sampling and checkpoint I/O.

Nothing under this package may import Qt, pyqtgraph or `playground.gui`
(tests/core/test_headless.py enforces it), so every feature works from the command line
and in tests without a display.
"""
