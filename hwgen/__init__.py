"""hwgen: parameterized Amaranth generators for LLM and cryptography accelerators."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hwgen")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

import sys as _sys

# Moduli reach 2^16384 and datapaths 2^65536: their values must convert to and from decimal
# (YAML, JSON manifests) beyond Python's default 4,300-digit limit. A bound stays in place,
# so a pathological literal still fails fast (as a config error) instead of running for hours.
MAX_INT_DIGITS = 20000
if 0 < _sys.get_int_max_str_digits() < MAX_INT_DIGITS:
    _sys.set_int_max_str_digits(MAX_INT_DIGITS)
