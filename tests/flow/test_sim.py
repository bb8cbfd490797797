"""The cocotb flow catches a wrong result and a hang, not only passes a right design."""
import dataclasses

import pytest

from hwgen.config import Design, from_mapping
from hwgen.flow import sim

SMALL = {"name": "sim_dot", "kind": "bitserial_dot",
         "params": {"lanes": 2, "weight_bits": 3, "group_size": 2, "max_len": 16}}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sim")


def with_vectors(design, change):
    """``design`` whose golden vectors are passed through ``change`` first."""
    def vectors(params, count, seed):
        result = design.kind.vectors(params, count, seed)
        change(result)
        return result
    return Design(design.name, dataclasses.replace(design.kind, vectors=vectors), design.params)


def test_matching_design_passes_and_reports_cycles(out_dir):
    stats = sim.run(from_mapping(SMALL), out_dir, count=10, seed=5)
    assert set(stats) == {"random_gaps", "full_rate"}
    assert stats["full_rate"]["cycles"] > 0


def test_a_wrong_expected_value_fails(out_dir):
    def corrupt(vectors):
        vectors["outputs"]["o"][3]["y"] += 1
    with pytest.raises(sim.SimulationError, match="cocotb tests failed"):
        sim.run(with_vectors(from_mapping(SMALL), corrupt), out_dir, count=10, seed=5)


def test_an_output_that_never_comes_fails_as_a_hang(out_dir):
    def expect_one_more(vectors):
        vectors["outputs"]["o"].append(dict(vectors["outputs"]["o"][0]))
    with pytest.raises(sim.SimulationError, match="hang"):
        sim.run(with_vectors(from_mapping(SMALL), expect_one_more), out_dir, count=10, seed=5,
                stall_limit=200)
