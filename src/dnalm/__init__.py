"""dnalm: build and evaluate DNA language models on any genome."""

__version__ = "0.1.0"
