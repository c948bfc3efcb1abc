"""playground: explore generative models by hand."""

__version__ = "0.1.0"
