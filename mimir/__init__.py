"""mimir: answer clinical questions about several medical images at once."""

__version__ = "0.1.0"
