"""Design configs: YAML → a validated, frozen :class:`Design`.

A config file has three keys::

    name: bs_dot8          # Verilog module and file name
    kind: bitserial_dot    # see `hwgen list`
    params: {lanes: 8}     # per kind; omitted parameters take their documented defaults

Every rejection is a :class:`ConfigError` whose message starts with the YAML path of the
offending value (``params.lanes: must be …, not 3``) and fits on one line: long values are
shortened. Loading never writes anything.

The YAML is read strictly: the file must be UTF-8, a key may appear only once per mapping,
and nesting deeper than :data:`MAX_DEPTH` is refused. A parameter written as ``null`` takes
its default, exactly as if it were left out; one that has no effect in the chosen
combination (``lut_groups`` for a method other than ``hybrid``) is rejected.
"""
import dataclasses
import hashlib
import json
import pathlib
import re

import yaml

import hwgen
from hwgen import registry
from hwgen.params import ParamError, did_you_mean, shown

__all__ = ["ConfigError", "Design", "MAX_DEPTH", "read_yaml", "load", "from_mapping"]

_TOP_KEYS = ("name", "kind", "params")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Deeper than any config or sweep needs, far below the interpreter's recursion limit.
MAX_DEPTH = 32
_LONGEST_MESSAGE = 400


def _one_line(text):
    """``text`` on one line and at most :data:`_LONGEST_MESSAGE` characters."""
    text = " ".join(str(text).split())
    if len(text) > _LONGEST_MESSAGE:
        text = f"{text[:_LONGEST_MESSAGE - 60]} … ({len(text)} characters)"
    return text


class ConfigError(Exception):
    """A config that cannot be built. The message names the YAML path and the rule, on one
    line."""

    def __init__(self, message, source=None):
        self.source = source
        super().__init__(_one_line(f"{source}: {message}" if source else message))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader refusing duplicate keys and deep nesting."""

    def compose_node(self, parent, index):
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.YAMLError(f"line {self.peek_event().start_mark.line + 1}: nested "
                                     f"deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.YAMLError(f"line {key_node.start_mark.line + 1}: a mapping key "
                                     f"must be a plain value, not {shown(key)}") from None
            if duplicate:
                raise yaml.YAMLError(f"line {key_node.start_mark.line + 1}: key {shown(key)} "
                                     f"appears twice in one mapping (first on line "
                                     f"{seen[key] + 1})")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_mapping)


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
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {what}: {error.strerror or error}", source=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"not a UTF-8 text file (byte {error.start} is "
                          f"0x{data[error.start]:02x})", source=path) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}not valid YAML: {problem}", source=path) from None
    except ValueError:
        # The only value PyYAML converts with a length limit: a decimal integer literal.
        raise ConfigError(f"an integer has more than {hwgen.MAX_INT_DIGITS} decimal digits; "
                          f"write large integers in hexadecimal (0x…)", source=path) from None


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
            fail(f"{shown(key, quote=False)}: unknown key{did_you_mean(str(key), _TOP_KEYS)} "
                 f"(a config has {', '.join(_TOP_KEYS)})")
    for key in ("name", "kind"):
        if key not in mapping:
            fail(f"{key}: missing (a config needs name and kind)")

    name = mapping["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        fail(f"name: must be an identifier of letters, digits and underscores "
             f"(at most 64, not starting with a digit), not {shown(name)}")

    known = registry.kinds()
    kind_name = mapping["kind"]
    if not isinstance(kind_name, str) or kind_name not in known:
        hint = did_you_mean(kind_name, known) if isinstance(kind_name, str) else ""
        fail(f"kind: must be one of {', '.join(map(repr, known))}, not {shown(kind_name)}{hint}")
    kind = known[kind_name]

    raw_params = mapping.get("params")
    if raw_params is None:
        raw_params = {}
    if not isinstance(raw_params, dict):
        fail(f"params: must be a mapping of parameter names to values, not {shown(raw_params)}")
    try:
        params = kind.params.from_mapping(raw_params, kind=kind.name)
    except ParamError as error:
        fail(f"params.{error.name}: {error.rule}")
    unused = params.unused()
    for key, value in raw_params.items():
        if key in unused and value is not None:
            fail(f"params.{key}: {unused[key]}; remove it")
    return Design(name=name, kind=kind, params=params)
