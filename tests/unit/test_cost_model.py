"""The family-free linear cost model: fitting and held-out predictions."""
import pytest

from hwgen.cost.model import LinearCostModel


def model(tmp_path):
    return LinearCostModel("toy", lambda kind, params: {"x": params["x"], "const": 1},
                           ("area",), path=tmp_path / "toy.json")


def samples(values):
    return [("toy", {"x": x, "size": size}, {"area": area}) for x, size, area in values]


def test_held_out_predicts_each_sample_from_the_others(tmp_path):
    linear = samples([(x, "small", 3 * x + 5) for x in range(1, 7)])
    held = model(tmp_path).held_out(linear + [("toy", {"x": 9, "size": "small"}, {})], "area")
    # Samples without the metric are neither predicted nor used.
    assert [index for index, _, _ in held] == list(range(6))
    assert all(predicted == pytest.approx(measured) for _, predicted, measured in held)


def test_held_out_by_group_leaves_the_whole_group_out(tmp_path):
    toy = model(tmp_path)
    # Two large samples agree with each other but not with the small ones' line.
    mixed = samples([(x, "small", 3 * x + 5) for x in range(1, 7)]
                    + [(20, "large", 200), (21, "large", 210)])
    by_point = dict((index, predicted) for index, predicted, _ in toy.held_out(mixed, "area"))
    by_group = dict((index, predicted) for index, predicted, _ in
                    toy.held_out(mixed, "area", group=lambda kind, params: params["size"]))
    # Without its group, a large sample is extrapolated from the small ones' line alone.
    assert by_group[6] == pytest.approx(3 * 20 + 5) and by_group[7] == pytest.approx(3 * 21 + 5)
    # Left out alone, it is pulled towards the other large sample.
    assert by_point[6] > 3 * 20 + 5 + 10
