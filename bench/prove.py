"""hwgen prove on the issue's instances: which property holds for which config, at which
depth, and how long the proof takes (issue: each under 5 minutes on 2 cores).

1. the stream rules (k-induction) and the answer bound (packet accounting, bounded) for the
   small config of every kind (designs/formal/);
2. functional equivalence: modred ≡ x mod q (x·R⁻¹ mod q for montgomery) for q = 3329 and
   7681 at full input width (24 and 26 bits), q = 3329 at 16 and 20 bits, and the 16- and
   20-bit primes 65521 and 786433 with four input bits above the modulus, every method (two
   rows each: one beat for every x, and the pipeline for every input sequence); the LUT and multiplier
   ternary cores ≡ the add/sub core at int4/int8 and small µ; bitserial_dot ≡ bitparallel_dot
   at 2–4 lanes, each weight precision (the whole designs bounded, their engines for every
   input sequence by k-induction against the definition of a beat sum); the parallel Huffman decoder ≡ the serial one on 16-bit blocks of
   2-bit symbols, malformed blocks included.

Every proof gets HWGEN_PROVE_TIMEOUT seconds of wall time (default 300); a proof that runs
out reports the depth it reached. HWGEN_PROVE_ONLY=WORD[,WORD...] runs the rows whose name
contains one of the words. Rows run one at a time (the solvers are single-threaded). Each row
prints its wall time and its CPU time (sby and every tool it started): on a shared machine
the wall time is mostly the load, so "under 5 min" is judged on the CPU time.

    .venv/bin/python bench/prove.py
"""
import os
import pathlib
import sys
import time

from hwgen.config import from_mapping, load
from hwgen.formal import prove, sby

WORK = pathlib.Path("build/bench_prove")
TIMEOUT = float(os.environ.get("HWGEN_PROVE_TIMEOUT", "300"))
ONLY = os.environ.get("HWGEN_PROVE_ONLY", "").split(",")
FORMAL = pathlib.Path(__file__).resolve().parents[1] / "designs" / "formal"

TERNARY = {"n_tables": 1, "lanes": 1, "act_type": "int", "max_len": 4}
BITSERIAL = {"act_bits": 4, "scale_bits": 2}


def _modred(q, in_bits, method, **extra):
    return (f"modred_q{q}_{in_bits}b_{method}", "modred",
            {"modulus": q, "in_bits": in_bits, "method": method, "tag_bits": 1, **extra})


EQUIVALENCES = [
    *[_modred(3329, 24, method) for method in
      ("lut", "iterative", "hybrid", "barrett", "montgomery")],
    *[_modred(7681, 26, method) for method in
      ("lut", "iterative", "hybrid", "barrett", "montgomery")],
    *[_modred(3329, 16, method) for method in
      ("lut", "iterative", "hybrid", "barrett", "montgomery")],
    *[_modred(3329, 20, method) for method in ("lut", "barrett")],
    *[_modred(q, in_bits, method) for q, in_bits in ((65521, 20), (786433, 24))
      for method in ("lut", "barrett", "montgomery")],
    _modred(65521, 20, "special"),
    # Beyond 20 bits: a 24- and a 32-bit prime (2^24 − 3, 2^32 − 5), four input bits above.
    *[_modred(q, q.bit_length() + 4, method) for q in (16777213, 4294967291)
      for method in ("lut", "iterative", "hybrid", "barrett", "montgomery", "special")],
    *[(f"ternary_lut_int{bits}_mu{mu}", "ternary_lut", {**TERNARY, "mu": mu, "act_bits": bits})
      for bits in (4, 8) for mu in (1, 2)],
    ("ternary_mac_int4_mu2", "ternary_mac", {**TERNARY, "mu": 2, "act_bits": 4}),
    *[(f"bitserial_{lanes}lanes_int{bits}", "bitserial_dot",
       {**BITSERIAL, "lanes": lanes, "group_size": 2 * lanes, "max_len": 2 * lanes,
        "weight_bits": bits})
      for lanes in (2, 3, 4) for bits in (2, 3, 4)],
    ("huffman_kv16", "huffman_kv_decoder", load(FORMAL / "huffman_kv16.yaml").params.to_dict()),
]


def rows():
    for prop in ("stream", "answer"):
        for path in sorted(FORMAL.glob("*.yaml")):
            yield prop, load(path)
    for name, kind, params in EQUIVALENCES:
        yield "equivalence", from_mapping({"name": name, "kind": kind, "params": params})


def main():
    print("| design | kind | property | result | depth | solver | time (s) | CPU time (s) | "
          "under 5 min (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|")
    started = time.monotonic()
    for prop, design in rows():
        if not any(word in design.name for word in ONLY):
            continue
        results = prove.prove(design, WORK, props=[prop], timeout=TIMEOUT)
        if not results:
            print(f"| {design.name} | {design.kind.name} | {prop} | does not apply | | | | | |")
        for result in results:
            o = result.outcome
            within = "yes" if o.status in ("bounded", "proved") and o.cpu_seconds < 300 else "no"
            depth = "" if result.engine in sby.UNBOUNDED else o.depth
            print(f"| {design.name} | {design.kind.name} | {prop}: {result.what} | {o.status} | "
                  f"{depth} | {result.engine} | {o.seconds:.0f} | {o.cpu_seconds:.0f} | "
                  f"{within} |", flush=True)
    print(f"\ntotal {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
