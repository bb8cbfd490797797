"""Safe expressions for sweep constraints and objectives.

An expression is parsed with :mod:`ast` and checked against a whitelist before it is ever
evaluated: numbers, strings, names, dotted names (``generic.ge`` is the figure called
``"generic.ge"``, not an attribute lookup), arithmetic, comparisons, ``and``/``or``/``not``,
conditional expressions, tuples for ``in``, and the functions in :data:`FUNCTIONS`. Nothing
else parses, so an expression cannot reach Python objects, import anything or call
arbitrary code. Exponents and string arithmetic are limited so that an expression cannot
exhaust memory either.
"""
import ast
import math
import operator

from hwgen.params import did_you_mean

__all__ = ["ExpressionError", "UnknownNameError", "Expression", "FUNCTIONS"]

FUNCTIONS = {
    "min": min, "max": max, "abs": abs,
    "log2": math.log2, "ceil": math.ceil, "floor": math.floor, "sqrt": math.sqrt,
}
_MAX_EXPONENT = 1024

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class ExpressionError(ValueError):
    """An expression that does not parse, uses something not allowed, or cannot be evaluated."""


class UnknownNameError(ExpressionError):
    """A name the expression uses is not among the names it was evaluated with."""

    def __init__(self, name, known):
        self.name = name
        super().__init__(f"unknown name {name!r}{did_you_mean(name, known)}")


def _dotted(node):
    """``"a.b.c"`` for a chain of names and attributes, else ``None``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _check(node):
    """Reject every node outside the whitelist, naming it."""
    if isinstance(node, ast.Expression):
        return _check(node.body)
    if isinstance(node, (ast.Name, ast.Attribute)):
        if _dotted(node) is None:
            raise ExpressionError("attributes are only allowed in dotted names such as "
                                  "generic.ge")
        return
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool)):
            raise ExpressionError(f"constant {node.value!r} is not allowed")
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _check(node.left), _check(node.right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(node.operand)
    if isinstance(node, ast.BoolOp):
        return [_check(value) for value in node.values]
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        return [_check(value) for value in [node.left, *node.comparators]]
    if isinstance(node, ast.IfExp):
        return _check(node.test), _check(node.body), _check(node.orelse)
    if isinstance(node, (ast.Tuple, ast.List)):
        return [_check(element) for element in node.elts]
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError(f"only the functions {', '.join(FUNCTIONS)} may be called")
        if node.keywords:
            raise ExpressionError(f"{node.func.id}() takes no keyword arguments")
        return [_check(argument) for argument in node.args]
    raise ExpressionError(f"{type(node).__name__} is not allowed (use arithmetic, "
                          f"comparisons, and/or/not and parameter or figure names)")


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"arithmetic needs numbers, not {value!r}")
    return value


class Expression:
    """A parsed, checked expression; :meth:`evaluate` it over a mapping of names.

    Raises :class:`ExpressionError` at construction for anything outside the whitelist.
    """

    def __init__(self, text):
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(f"must be an expression in a string, not {text!r}")
        self.text = text
        try:
            self._tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as error:
            raise ExpressionError(f"is not a valid expression: {error.msg}") from None
        _check(self._tree)
        self.names = sorted({_dotted(node) for node in ast.walk(self._tree)
                             if isinstance(node, (ast.Name, ast.Attribute))
                             and not _is_inner(node, self._tree)} - set(FUNCTIONS))

    def __repr__(self):
        return f"Expression({self.text!r})"

    def evaluate(self, names):
        """The value of the expression with every name looked up in ``names``.

        Raises :class:`ExpressionError` naming a missing name or a failed operation.
        """
        try:
            return self._eval(self._tree.body, names)
        except ExpressionError:
            raise
        except (ArithmeticError, TypeError, ValueError) as error:
            raise ExpressionError(f"cannot be evaluated: {error}") from None

    def _eval(self, node, names):
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _dotted(node)
            if name not in names:
                raise UnknownNameError(name, names)
            return names[name]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            left, right = _number(self._eval(node.left, names)), _number(self._eval(node.right,
                                                                                 names))
            if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
                raise ExpressionError(f"exponent {right!r} is larger than {_MAX_EXPONENT}")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self._eval(node.operand, names)
            return _UNARY[type(node.op)](operand if isinstance(node.op, ast.Not)
                                         else _number(operand))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(value, names) for value in node.values)
            return any(self._eval(value, names) for value in node.values)
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, names)
            for op, comparator in zip(node.ops, node.comparators):
                right = self._eval(comparator, names)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            branch = node.body if self._eval(node.test, names) else node.orelse
            return self._eval(branch, names)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._eval(element, names) for element in node.elts)
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*(self._eval(arg, names) for arg in node.args))
        raise AssertionError(f"unchecked node {node!r}")  # pragma: no cover - _check rejects it


def _is_inner(node, tree):
    """Whether ``node`` is the ``.value`` of an attribute (part of a longer dotted name) or
    the name of a called function."""
    for parent in ast.walk(tree):
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return True
        if isinstance(parent, ast.Call) and parent.func is node:
            return True
    return False
