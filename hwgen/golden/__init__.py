"""Golden models: bit-exact NumPy references, one module per family, free of hardware imports.

Each family module provides ``vectors(params, count, seed)``, which returns test vectors in
the form every testbench reads::

    {"inputs":  {"i": [beat, ...]},      # per input stream, beats in order
     "outputs": {"o": [beat, ...]}}      # per output stream, the exact expected beats

A beat maps payload field names to ints (arrays as lists). The vectors hold the family's
directed edge cases followed by ``count`` random transactions drawn with ``seed``.
"""
