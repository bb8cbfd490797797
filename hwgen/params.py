"""Declarative, validated parameter sets.

A family declares its parameters once, as a frozen dataclass deriving from :class:`Params`
whose fields are made with :func:`param`. The same declaration serves three readers:

* components, which take a validated parameter object, so Python users get ``TypeError`` and
  ``ValueError`` with "lanes must be …, not 3" messages;
* :mod:`hwgen.config`, which turns a :class:`ParamError` into a message naming the YAML path
  (``params.lanes: must be …, not 3``);
* ``hwgen list``, which prints every parameter with its default and rule.
"""
import dataclasses
import difflib
import json

__all__ = [
    "ParamError", "ParamTypeError", "ParamValueError",
    "Rule", "Int", "Bool", "Choice", "Nested", "Optional",
    "Params", "param", "did_you_mean", "shown",
]

_SHOWN_CHARS = 60


def shown(value, *, quote=True):
    """``repr(value)`` (``str`` with ``quote=False``) for an error message, shortened to
    about 60 characters; integers too long for decimal are shown by their size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 192:
        return f"{'-' if value < 0 else ''}0x{abs(value):x}"[:24] + f"… ({value.bit_length()} bits)"
    if isinstance(value, (list, tuple, dict, set)) and len(value) > 16:
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value) if quote else str(value)
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"
    if len(text) > _SHOWN_CHARS:
        text = f"{text[:_SHOWN_CHARS - 12]}… ({len(text)} characters)"
    return text


class ParamError(Exception):
    """A parameter broke its rule.

    ``name`` is the dotted parameter path (``pipeline.tree_every``) and ``rule`` the
    sentence after it (``must be …, not 3``).
    """

    def __init__(self, name, rule):
        self.name = name
        self.rule = rule
        super().__init__(f"{name} {rule}")

    def within(self, prefix):
        """The same error for a parameter nested under ``prefix``."""
        return type(self)(f"{prefix}.{self.name}", self.rule)


class ParamTypeError(ParamError, TypeError):
    pass


class ParamValueError(ParamError, ValueError):
    pass


class Rule:
    """What a parameter value must be. Subclasses implement :meth:`check` and :meth:`describe`."""

    def check(self, name, value):
        raise NotImplementedError  # pragma: no cover - abstract

    def describe(self):
        raise NotImplementedError  # pragma: no cover - abstract

    def coerce(self, name, value):
        """Turn a YAML value into the parameter's Python value (nested mappings, lists)."""
        return value


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Int(Rule):
    """An integer in ``[lo, hi]``; optionally a power of two or a multiple of ``step``."""

    def __init__(self, lo, hi=None, *, power_of_two=False):
        self.lo, self.hi, self.power_of_two = lo, hi, power_of_two

    def describe(self):
        kind = "a power of two" if self.power_of_two else "an integer"
        if self.hi is None:
            return f"{kind} of at least {self.lo}"
        return f"{kind} between {self.lo} and {self.hi}"

    def check(self, name, value):
        if not _is_int(value):
            raise ParamTypeError(name, f"must be {self.describe()}, not {shown(value)}")
        in_range = value >= self.lo and (self.hi is None or value <= self.hi)
        if not in_range or (self.power_of_two and value & (value - 1)):
            raise ParamValueError(name, f"must be {self.describe()}, not {shown(value)}")


class Bool(Rule):
    def describe(self):
        return "true or false"

    def check(self, name, value):
        if not isinstance(value, bool):
            raise ParamTypeError(name, f"must be true or false, not {shown(value)}")


class Choice(Rule):
    """One of a fixed set of strings."""

    def __init__(self, *options):
        self.options = options

    def describe(self):
        return "one of " + ", ".join(repr(option) for option in self.options)

    def check(self, name, value):
        if not isinstance(value, str):
            raise ParamTypeError(name, f"must be {self.describe()}, not {shown(value)}")
        if value not in self.options:
            hint = did_you_mean(value, self.options)
            raise ParamValueError(name, f"must be {self.describe()}, not {shown(value)}{hint}")


class Nested(Rule):
    """A nested parameter set, written as a mapping in YAML."""

    def __init__(self, params_class):
        self.params_class = params_class

    def describe(self):
        return f"a mapping of {self.params_class.__name__} parameters"

    def coerce(self, name, value):
        if isinstance(value, dict):
            try:
                return self.params_class.from_mapping(value)
            except ParamError as error:
                raise error.within(name) from None
        return value

    def check(self, name, value):
        if not isinstance(value, self.params_class):
            raise ParamTypeError(name, f"must be {self.describe()}, not {shown(value)}")


class Optional(Rule):
    """Another rule's value, or ``None`` (YAML ``null``) for a feature that is off.

    With ``derived``, ``None`` as the default stands for a value derived from the other
    parameters where the feature applies (and for nothing where it does not)."""

    def __init__(self, rule, *, derived=False):
        self.rule = rule
        self.derived = derived

    def describe(self):
        return f"{self.rule.describe()}, or null"

    def coerce(self, name, value):
        return self.rule.coerce(name, value)

    def check(self, name, value):
        if value is not None:
            self.rule.check(name, value)


def param(default, rule, doc):
    """A parameter field: its default (``None`` for one derived from other parameters),
    its :class:`Rule` and a one-line description."""
    if isinstance(rule, Nested) and default is not None:
        return dataclasses.field(default_factory=lambda: default,
                                 metadata={"rule": rule, "doc": doc})
    return dataclasses.field(default=default, metadata={"rule": rule, "doc": doc})


def did_you_mean(word, options):
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclasses.dataclass(frozen=True)
class Params:
    """Base of every family's parameter set.

    Construction validates each field against its rule, fills in derived defaults
    (:meth:`derive`) and then checks combinations (:meth:`check`). Instances are frozen.
    """

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                field.metadata["rule"].check(field.name, value)
        self.check()
        for name, value in self.derive().items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        for field in dataclasses.fields(self):
            field.metadata["rule"].check(field.name, getattr(self, field.name))

    def derive(self):
        """Values for parameters left at ``None``, computed from the others.

        Runs after :meth:`check`, so it may assume a consistent combination.
        """
        return {}

    def check(self):
        """Reject inconsistent combinations by raising :class:`ParamValueError`.

        Runs before derived defaults are filled in: fields left at ``None`` are still
        ``None`` here, and :meth:`derive` gives them consistent values.
        """

    def unused(self):
        """Parameters that have no effect in this combination, each with the rule that says
        when it applies (``{"lut_groups": "applies only to method 'hybrid'"}``). A config
        (:func:`hwgen.config.from_mapping`) that sets one of them is rejected, so it never
        carries a silently ignored value; the config echo, which lists every parameter,
        still reads back."""
        return {}

    @classmethod
    def from_mapping(cls, mapping, *, kind=None):
        """Build from a YAML mapping, rejecting unknown keys with a did-you-mean. A ``None``
        (YAML ``null``) value means the default."""
        names = [field.name for field in dataclasses.fields(cls)]
        values = {}
        for key, value in mapping.items():
            if key not in names:
                owner = f"kind {kind!r}" if kind else cls.__name__
                hint = did_you_mean(key, names) if isinstance(key, str) else ""
                raise ParamValueError(shown(key, quote=False),
                                      f"is not a parameter of {owner}{hint}")
            if value is None:
                continue
            rule = cls.field(key).metadata["rule"]
            values[key] = rule.coerce(key, value)
        return cls(**values)

    @classmethod
    def field(cls, name):
        return next(field for field in dataclasses.fields(cls) if field.name == name)

    @classmethod
    def describe(cls):
        """``(name, default, rule, doc)`` for every parameter, in declaration order; the
        default as text: JSON, ``derived`` (from the other parameters) or ``null`` (off)."""
        rows = []
        for field in dataclasses.fields(cls):
            rule = field.metadata["rule"]
            if field.default is not dataclasses.MISSING:
                default = field.default
            else:
                default = field.default_factory()
            if default is not None:
                shown_default = json.dumps(default.to_dict() if isinstance(default, Params)
                                           else default)
            elif isinstance(rule, Optional) and not rule.derived:
                shown_default = "null"
            else:
                shown_default = "derived"
            rows.append((field.name, shown_default, rule.describe(), field.metadata["doc"]))
        return rows

    def to_dict(self):
        """Every parameter, defaults filled in, nested sets as mappings (the config echo)."""
        result = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            result[field.name] = value.to_dict() if isinstance(value, Params) else value
        return result
