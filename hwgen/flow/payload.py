"""Packing stream beats to and from payload integers, driven by manifest field descriptions.

A beat is a mapping of field name to value: an int for a plain field, a list for an array
field (nested lists for arrays of arrays). Signed fields take and give negative ints. Fields
missing from a beat are packed as 0. Both testbenches (cocotb and the Amaranth simulator)
use these functions, so a beat means the same thing everywhere.
"""
import numbers

__all__ = ["pack", "unpack"]


def _check_range(name, value, width, signed):
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if not isinstance(value, numbers.Integral) or not lo <= value <= hi:
        raise ValueError(f"field {name!r}: {value!r} does not fit "
                         f"{'signed' if signed else 'unsigned'}({width})")
    return int(value) & ((1 << width) - 1)


def _flatten(value):
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        for item in items:
            yield from _flatten(item)
    else:
        yield value


def pack(fields, beat):
    """The payload integer for ``beat`` (a mapping of field name to value)."""
    unknown = set(beat) - set(fields)
    if unknown:
        raise ValueError(f"beat has fields {sorted(unknown)} that the payload does not "
                         f"(payload fields: {sorted(fields)})")
    word = 0
    for name, field in fields.items():
        if name not in beat:
            continue
        if "count" in field:
            elements = list(_flatten(beat[name]))
            if len(elements) != field["count"]:
                raise ValueError(f"field {name!r}: expected {field['count']} elements, "
                                 f"got {len(elements)}")
            for index, element in enumerate(elements):
                bits = _check_range(f"{name}[{index}]", element, field["elem_width"],
                                    field["signed"])
                word |= bits << (field["lsb"] + index * field["elem_width"])
        else:
            word |= _check_range(name, beat[name], field["width"], field["signed"]) << field["lsb"]
    return word


def _extract(word, lsb, width, signed):
    value = (word >> lsb) & ((1 << width) - 1)
    if signed and value >> (width - 1):
        value -= 1 << width
    return value


def _nest(elements, dims):
    if len(dims) == 1:
        return elements
    step = len(elements) // dims[0]
    return [_nest(elements[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]


def unpack(fields, word):
    """The beat (a dict of field name to value) that payload integer ``word`` encodes."""
    beat = {}
    for name, field in fields.items():
        if "count" in field:
            elements = [_extract(word, field["lsb"] + index * field["elem_width"],
                                 field["elem_width"], field["signed"])
                        for index in range(field["count"])]
            beat[name] = _nest(elements, field.get("dims", [field["count"]]))
        else:
            beat[name] = _extract(word, field["lsb"], field["width"], field["signed"])
    return beat
