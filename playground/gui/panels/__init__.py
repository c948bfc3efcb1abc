"""One widget class per model family's panel; the main window assembles them."""
