"""Widgets shared by more than one panel: image canvases, titled views, sliders, galleries, palettes."""
