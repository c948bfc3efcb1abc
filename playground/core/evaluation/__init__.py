"""Judging generated images on the shapes data: the sample judge, and charts for reports."""
