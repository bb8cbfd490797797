"""The ternary cost model (hwgen.cost.ternary) against Yosys, configuration by configuration.

    .venv/bin/python bench/ternary_cost.py         # model vs Yosys with the stored weights
    .venv/bin/python bench/ternary_cost.py --fit   # refit on the calibration set, store, compare

Every configuration is synthesized with the same Yosys (cached by hwgen.flow.measure), so a
rerun only synthesizes what changed. The calibration set fits the weights; the held-out set
is never used for fitting and shows how the model predicts designs it has not seen. The
calibration set holds small cores (2–48 MACs/cycle, every target of the model) and the
1,024-MAC cores of ``bench/ternary.py`` (generic GE only, composed from their slices as that
bench does), so the weights are fitted at the sizes a user builds as well.
"""
import argparse
import pathlib
import statistics
import sys

from hwgen.cost import ternary as cost
from hwgen.cost.model import relative_errors
from hwgen.flow.measure import composed, measure

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import ternary as tile_bench  # noqa: E402  (the 1,024-MAC shapes of bench/ternary.py)


def config(kind, mu, n_tables, lanes, act_type="int", act_bits=8, weight_format="key",
           **pipeline):
    params = {"mu": mu, "n_tables": n_tables, "lanes": lanes, "act_type": act_type,
              "weight_format": weight_format}
    if act_type == "int":
        params["act_bits"] = act_bits
    if pipeline:
        params["pipeline"] = pipeline
    return f"ternary_{kind}", params


CALIBRATION = [
    config("lut", 1, 4, 4),
    config("lut", 2, 4, 4),
    config("lut", 3, 4, 4),
    config("lut", 4, 2, 4),
    config("lut", 5, 2, 4),
    config("lut", 3, 1, 4),
    config("lut", 2, 2, 2, act_bits=4, weight_format="code2"),
    config("lut", 2, 1, 2, act_bits=16, weight_format="base3"),
    config("lut", 2, 2, 2, table=True, fetch=True, tree_every=1),
    config("lut", 2, 1, 2, "fp16"),
    config("lut", 1, 2, 1, "bf16", weight_format="code2"),
    config("addsub", 3, 2, 2, weight_format="code2"),
    config("addsub", 2, 2, 1),
    config("addsub", 1, 4, 1, act_bits=16, weight_format="code2"),
    config("addsub", 2, 1, 2, "fp16", weight_format="code2"),
    config("mac", 3, 2, 2, weight_format="code2"),
    config("mac", 2, 2, 2, act_bits=4),
    config("mac", 1, 4, 1, act_bits=16, weight_format="base3", fetch=True),
    config("mac", 2, 1, 2, "fp16", weight_format="code2"),
    config("mac", 1, 2, 1, "bf16", weight_format="code2"),
]
# The 1,024-MAC cores of bench/ternary.py (generic GE only); every second one is held out.
TILES = [(f"ternary_{kind}", tile_bench.params_of(activation, kind, *shape))
         for activation, rows in tile_bench.ROWS.items() for _, kind, *shape in rows]
CALIBRATION += TILES[::2]
HELD_OUT = TILES[1::2] + [
    config("lut", 3, 2, 3),
    config("lut", 5, 1, 2, weight_format="base3"),
    config("lut", 2, 1, 3, "fp16", weight_format="code2"),
    config("addsub", 3, 2, 3, weight_format="code2"),
]
TARGETS = sorted({metric.split(".")[0] for metric in cost.METRICS})


def measured(kind, params):
    tile = (kind, params) in TILES
    targets = ("generic",) if tile else TARGETS
    areas = (composed(kind, params, params["lanes"], targets=targets, timeout=3600) if tile
             else measure(kind, params, targets=targets))
    return {metric: areas[target][column]
            for metric in cost.METRICS for target, column in [metric.split(".")]
            if target in targets}


def describe(kind, params):
    act = params["act_type"] if params["act_type"] != "int" else f"int{params['act_bits']}"
    pipeline = "".join(f" {key}={int(value)}" for key, value in params.get("pipeline",
                                                                         {}).items())
    return (f"{kind.removeprefix('ternary_'):<6} µ={params['mu']} L={params['n_tables']:<2} "
            f"K={params['lanes']:<3} {act:<5} {params['weight_format']:<5}{pipeline}")


def table(title, rows, weights):
    print(f"\n{title}\n")
    header = ["configuration", "MACs/cyc"] + [f"{metric} model / Yosys (err)"
                                             for metric in cost.METRICS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    errors = {metric: [] for metric in cost.METRICS}
    for (kind, params), figures in rows:
        predicted = cost.MODEL.predict(kind, params, weights)
        cells = [describe(kind, params), str(cost.throughput(kind, params))]
        for metric in cost.METRICS:
            if metric not in figures:
                cells.append("–")
                continue
            error = relative_errors([predicted[metric]], [figures[metric]])
            errors[metric] += error
            cells.append(f"{predicted[metric]:,.0f} / {figures[metric]:,.0f} "
                         f"({100 * error[0]:.1f}%)" if error else "–")
        print("| " + " | ".join(cells) + " |")
    print("\n| relative error | " + " | ".join(cost.METRICS) + " |")
    print("|---|" + "---|" * len(cost.METRICS))
    for name, reduce in (("mean", statistics.fmean), ("max", max)):
        print(f"| {name} | " + " | ".join(f"{100 * reduce(errors[metric]):.1f}%"
                                         for metric in cost.METRICS) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true",
                        help="refit the weights on the calibration set and store them")
    args = parser.parse_args(argv)
    calibration = [(entry, measured(*entry)) for entry in CALIBRATION]
    held_out = [(entry, measured(*entry)) for entry in HELD_OUT]
    if args.fit:
        samples = [(kind, params, figures) for (kind, params), figures in calibration]
        cost.MODEL.save(cost.MODEL.fit(samples), [describe(kind, params)
                                                  for kind, params, _ in samples])
    weights = cost.MODEL.weights()
    if not weights:
        sys.exit("no stored weights: run with --fit first")
    print(f"Ternary cost model vs Yosys ({len(CALIBRATION)} calibration and {len(HELD_OUT)} "
          f"held-out configurations; GE = generic CMOS transistors / 4, LUT4 = synth_ice40 "
          f"LUT4 cells)")
    table("Calibration set (the weights are fitted to these)", calibration, weights)
    table("Held-out set (never used for fitting)", held_out, weights)


if __name__ == "__main__":
    main()
