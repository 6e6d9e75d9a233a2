"""qa: question answering over document collections, Chinese first, with sentence-level citations."""

__version__ = "0.1.0"
