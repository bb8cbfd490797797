"""Design configs: YAML → a validated, frozen :class:`Design`.

A config file has three keys::

    name: bs_dot8          # Verilog module and file name
    kind: bitserial_dot    # see `hwgen list`
    params: {lanes: 8}     # per kind; omitted parameters take their documented defaults

Every rejection is a :class:`ConfigError` whose message starts with the YAML path of the
offending value (``params.lanes: must be …, not 3``). Loading never writes anything.
"""
import dataclasses
import hashlib
import json
import pathlib
import re

import yaml

from hwgen import registry
from hwgen.params import ParamError, did_you_mean

__all__ = ["ConfigError", "Design", "read_yaml", "load", "from_mapping"]

_TOP_KEYS = ("name", "kind", "params")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class ConfigError(Exception):
    """A config that cannot be built. The message names the YAML path and the rule."""

    def __init__(self, message, source=None):
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


@dataclasses.dataclass(frozen=True)
class Design:
    """A validated config: a name, a registered kind and that kind's parameter set."""
    name: str
    kind: registry.Kind
    params: object

    def to_dict(self):
        """The config echo, every default filled in."""
        return {"name": self.name, "kind": self.kind.name, "params": self.params.to_dict()}

    @property
    def digest(self):
        """A short hash of the config echo, stable across runs and machines."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def build(self):
        """Elaborate-ready Amaranth component for this design."""
        return self.kind.build(self.params)


def read_yaml(path, what="config"):
    """The parsed YAML document at ``path``; a :class:`ConfigError` naming the file (and the
    line, for a syntax error) when it cannot be read or parsed."""
    path = pathlib.Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read {what}: {error.strerror}", source=path) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}not valid YAML: {problem}", source=path) from None


def load(path):
    """Read and validate the config at ``path``."""
    return from_mapping(read_yaml(path), source=pathlib.Path(path))


def from_mapping(mapping, source=None):
    """Validate an already-parsed config mapping."""
    def fail(message):
        raise ConfigError(message, source=source)

    if not isinstance(mapping, dict):
        fail(f"a config must be a mapping with keys {', '.join(_TOP_KEYS)}, "
             f"not {type(mapping).__name__}")
    for key in mapping:
        if key not in _TOP_KEYS:
            fail(f"{key}: unknown key{did_you_mean(str(key), _TOP_KEYS)} "
                 f"(a config has {', '.join(_TOP_KEYS)})")
    for key in ("name", "kind"):
        if key not in mapping:
            fail(f"{key}: missing (a config needs name and kind)")

    name = mapping["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        fail(f"name: must be an identifier of letters, digits and underscores "
             f"(at most 64, not starting with a digit), not {name!r}")

    known = registry.kinds()
    kind_name = mapping["kind"]
    if kind_name not in known:
        hint = did_you_mean(str(kind_name), known) if isinstance(kind_name, str) else ""
        fail(f"kind: must be one of {', '.join(map(repr, known))}, not {kind_name!r}{hint}")
    kind = known[kind_name]

    raw_params = mapping.get("params") or {}
    if not isinstance(raw_params, dict):
        fail(f"params: must be a mapping of parameter names to values, not {raw_params!r}")
    try:
        params = kind.params.from_mapping(raw_params, kind=kind.name)
    except ParamError as error:
        fail(f"params.{error.name}: {error.rule}")
    return Design(name=name, kind=kind, params=params)
