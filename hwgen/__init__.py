"""hwgen: parameterized Amaranth generators for LLM and cryptography accelerators."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hwgen")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
