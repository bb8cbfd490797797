"""Core families, one sub-package each, plus building blocks shared by them (``common``)."""
