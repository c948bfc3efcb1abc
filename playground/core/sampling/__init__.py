"""Sampling and inference helpers shared by the GUI and the command line."""
