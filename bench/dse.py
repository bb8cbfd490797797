"""Sweep throughput of the local pool against Dask, the cache-hit rate of a rerun, and the
cost-model error of each family after calibration on the shipped sweeps.

    .venv/bin/python bench/dse.py [--workers 2]

One small sweep (ternary LUT cores of a few hundred to a few thousand GE, generic target) is
run twice from an empty cache, once on the local process pool and once on a Dask
LocalCluster with the same number of workers, in this run, with the same tools. Points per
hour count every point from the start of the executor to the last result (pool start-up
included). The local run is then repeated on its filled cache to give the hit rate.

The calibration table refits each family's cost model (in memory: nothing is written) to
the measured results of the shipped sweeps under designs/sweeps/ that have been run with
`hwgen dse`, and prints the mean and max relative error before (stored weights) and after.
"""
import argparse
import json
import pathlib
import shutil
import sys
import tempfile

from hwgen import dse
from hwgen.dse import calibrate, models
from hwgen.dse.sweep import from_mapping

SWEEP = {
    "name": "bench_dse",
    "base": {"name": "tern", "kind": "ternary_lut", "params": {"max_len": 256}},
    "axes": {"mu": [1, 2], "n_tables": [1, 2], "lanes": [1, 2, 4]},
    "objectives": [{"minimize": "generic.ge"}, {"maximize": "macs_per_cycle / generic.ge"}],
}
ROOT = pathlib.Path(__file__).resolve().parents[1]


def timed_run(sweep, root, executor, workers, cache):
    result = dse.explore(sweep, executor=executor, workers=workers, cache_dir=cache,
                         out_dir=root / f"out_{executor}", progress=False, log=None)
    run = result.run
    if run["ok"] != run["points"]:
        sys.exit(f"{executor}: {run['points'] - run['ok']} points failed; see "
                 f"{root / f'out_{executor}' / 'report.md'}")
    return run


def calibration_table():
    print("\nCost-model error after calibration on the shipped sweeps (mean / max relative "
          "error over the sweep's points; before = stored weights)\n")
    print("| family | sweep | points | metric | before mean | before max | after mean | "
          "after max |")
    print("|---|---|---|---|---|---|---|---|")
    results = {}
    for path in sorted((ROOT / "designs" / "sweeps").glob("*.yaml")):
        sweep = dse.load(path)
        found = ROOT / sweep.output / "results.json"
        if found.exists():
            results[sweep.name] = found
    for family in models.families():
        if models.cost_model(family) is None:
            print(f"| {family} | – | – | no cost model | | | | |")
            continue
        ran = False
        for name, path in results.items():
            document = json.loads(path.read_text())
            if document["model_only"] or not calibrate.samples(family, document):
                continue
            _, before, after = calibrate.calibrate(family, path, save=False)
            ran = True
            for metric, (mean, worst, count) in after.items():
                old = before.get(metric)
                shown = ([f"{100 * old[0]:.1f}%", f"{100 * old[1]:.1f}%"] if old
                         else ["–", "–"])
                print(f"| {family} | {name} | {count} | {metric} | " + " | ".join(shown)
                      + f" | {100 * mean:.1f}% | {100 * worst:.1f}% |")
        if not ran:
            print(f"| {family} | – | – | no measured sweep results (run `hwgen dse` on its "
                  f"sweep) | | | | |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    sweep = from_mapping(SWEEP)
    (ROOT / "build").mkdir(exist_ok=True)
    root = pathlib.Path(tempfile.mkdtemp(prefix="bench_dse_", dir=ROOT / "build"))
    try:
        local = timed_run(sweep, root, "local", args.workers, root / "cache_local")
        dask = timed_run(sweep, root, "dask", args.workers, root / "cache_dask")
        rerun = timed_run(sweep, root, "local", args.workers, root / "cache_local")
    finally:
        shutil.rmtree(root)
    points = local["points"]
    print(f"Sweep throughput, {points} ternary_lut points (generic target, cache misses), "
          f"{args.workers} workers each, same run\n")
    print("| executor | points | computed | wall s | points/hour | vs local |")
    print("|---|---|---|---|---|---|")
    rate_local = 3600 * points / local["seconds"]
    for name, run in (("local process pool", local), ("Dask LocalCluster", dask)):
        rate = 3600 * run["points"] / run["seconds"]
        print(f"| {name} | {run['points']} | {run['computed']} | {run['seconds']:.1f} | "
              f"{rate:.0f} | {rate / rate_local:.2f}× |")
    print(f"\nRerun on the filled local cache: {rerun['cached']}/{rerun['points']} points "
          f"from the cache (hit rate {100 * rerun['cached'] / rerun['points']:.0f}%), "
          f"{rerun['computed']} computed, {rerun['seconds']:.1f} s")
    calibration_table()


if __name__ == "__main__":
    main()
