"""Generated malformed configs: every one is accepted or rejected with a one-line error.

A few hundred configs — wrong types, nulls, deep nesting, huge numbers, binary junk,
duplicate keys, bad kinds, inconsistent parameter combinations — go through ``hwgen
verilog`` in-process. None may raise, a rejection must exit 2 with exactly one line on
stderr and write nothing. Emission itself is stubbed down to building the component (the
shipped designs cover emission), so the whole run takes seconds.
"""
import dataclasses
import random

import pytest
import yaml

from hwgen import cli, registry
from hwgen.flow import verilog
from hwgen.params import Choice, Int

CASES_PER_PARAMETER = 5
COMBINATIONS_PER_KIND = 12
LARGEST_SIZE = 1024


class Raw(str):
    """A YAML scalar written exactly as given (a huge integer literal, say)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Raw, lambda dumper, text: dumper.represent_scalar(
    "tag:yaml.org,2002:int", str(text)))


def dump(document):
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False).encode()


def nested(depth):
    return "[" * depth + "1" + "]" * depth


JUNK = [None, True, False, 0, -1, 1.5, float("nan"), "", "x", "auto", "static", [], {}, [1],
        {"a": 1}, [[1, 2], [3]], "a" * 20000, list(range(300)), -(2 ** 70),
        Raw("0x" + "f" * 4200), Raw("9" * 25000), Raw("0b" + "1" * 20000), Raw("1_000"),
        Raw("0o777"), Raw("-0x10")]


def plausible(rule, rng):
    """A value of the right type, near or past the edges of ``rule`` (sizes capped where a
    valid config would take minutes to elaborate: that is not what is tested here)."""
    if isinstance(rule, Int):
        hi = min(rule.hi if rule.hi is not None else rule.lo + 1000, LARGEST_SIZE)
        return rng.choice([rule.lo, rule.lo + 1, hi, hi - 1, rng.randint(rule.lo, hi),
                           rule.lo - 1, hi + 1, 2 ** rng.randint(0, 14)])
    if isinstance(rule, Choice):
        return rng.choice(rule.options)
    return rng.choice(JUNK[:12])


def generated_configs():
    rng = random.Random(16)
    cases = []
    kinds = registry.kinds()
    for kind in kinds.values():
        for field in dataclasses.fields(kind.params):
            for value in rng.sample(JUNK, CASES_PER_PARAMETER):
                cases.append((f"{kind.name}.{field.name}={str(value)[:20]}",
                              dump({"name": "f", "kind": kind.name,
                                    "params": {field.name: value}})))
            text = f"name: f\nkind: {kind.name}\nparams:\n  {field.name}: {nested(40)}\n"
            cases.append((f"{kind.name}.{field.name} nested", text.encode()))
        for number in range(COMBINATIONS_PER_KIND):
            fields = rng.sample(dataclasses.fields(kind.params),
                                min(3, len(dataclasses.fields(kind.params))))
            params = {field.name: plausible(field.metadata["rule"], rng) for field in fields}
            cases.append((f"{kind.name} combination {number}",
                          dump({"name": "f", "kind": kind.name, "params": params})))
    structural = {
        "empty file": b"",
        "null document": b"~\n",
        "a list": b"- a\n- b\n",
        "a scalar": b"3\n",
        "kind a list": b"name: f\nkind: [modred]\n",
        "kind a mapping": b"name: f\nkind: {a: 1}\n",
        "kind null": b"name: f\nkind: null\n",
        "kind a number": b"name: f\nkind: 3\n",
        "name null": b"name: null\nkind: modred\n",
        "name huge": b"name: " + b"a" * 100000 + b"\nkind: modred\n",
        "name a list": b"name: [a]\nkind: modred\n",
        "params false": b"name: f\nkind: modred\nparams: false\n",
        "params zero": b"name: f\nkind: modred\nparams: 0\n",
        "params empty string": b"name: f\nkind: modred\nparams: ''\n",
        "params a list": b"name: f\nkind: modred\nparams: [1]\n",
        "duplicate top key": b"name: f\nname: g\nkind: modred\n",
        "duplicate parameter": b"name: f\nkind: modred\nparams: {k: 4, k: 5}\n",
        "a list as key": b"name: f\nkind: modred\n? [a]\n: 1\n",
        "a number as key": b"name: f\nkind: modred\n3: 1\n",
        "a number as parameter": b"name: f\nkind: modred\nparams: {3: 1}\n",
        "control character": b"name: f\x07\nkind: modred\n",
        "tab indentation": b"name: f\nkind: modred\nparams:\n\t k: 4\n",
        "python tag": b"name: !!python/object:os.system x\nkind: modred\n",
        "latin-1": "name: f\xe9\nkind: modred\n".encode("latin-1"),
        "utf-16": "name: f\nkind: modred\n".encode("utf-16"),
        "nesting at top": nested(5000).encode(),
        "mapping nesting": b"a: " * 3000 + b"1\n",
        "alias bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                      b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nname: f\nkind: modred\n"
                      b"params: {k: *c}\n",
        "lut_groups with iterative": b"name: f\nkind: modred\n"
                                     b"params: {method: iterative, lut_groups: 2}\n",
        "modulus 2^16384 + 1": b"name: f\nkind: modred\nparams: {modulus: 0x1"
                               + b"0" * 4095 + b"1}\n",
        "modulus in decimal beyond every limit": b"name: f\nkind: modred\nparams: {modulus: "
                                                  + b"7" * 30000 + b"}\n",
    }
    cases += [(name, text) for name, text in structural.items()]
    for number in range(10):
        cases.append((f"random bytes {number}", rng.randbytes(rng.randint(1, 400))))
    return cases


CASES = generated_configs()


def test_enough_configs_are_generated():
    assert len(CASES) >= 500


def test_every_generated_config_is_accepted_or_rejected_on_one_line(tmp_path, monkeypatch,
                                                                    capsys):

    def build_only(design, out_dir, **options):
        design.build()
        return verilog.Emitted(out_dir, design.name)

    monkeypatch.setattr(verilog, "emit", build_only)
    out = tmp_path / "out"
    problems = []
    rejected = 0
    for number, (name, text) in enumerate(CASES):
        path = tmp_path / f"case{number}.yaml"
        path.write_bytes(text)
        try:
            status = cli.main(["verilog", str(path), "--out", str(out)])
        except BaseException as error:  # a traceback is exactly what is being hunted
            problems.append(f"{name}: raised {type(error).__name__}: {str(error)[:200]}")
            continue
        stdout, stderr = capsys.readouterr()
        if status == 2:
            rejected += 1
            lines = stderr.splitlines()
            if len(lines) != 1 or not lines[0].startswith("error: ") or len(lines[0]) > 500:
                problems.append(f"{name}: rejection is not one short line: {stderr[:300]!r}")
            if out.exists():
                problems.append(f"{name}: rejected but wrote {sorted(out.rglob('*'))[:3]}")
        elif status != 0:
            problems.append(f"{name}: exit status {status}: {stderr[:300]!r}")
    assert not problems, f"{len(problems)} of {len(CASES)} configs:\n" + "\n".join(problems[:40])
    assert rejected > len(CASES) // 2
