"""Analytical cost models, one module per family, calibrated against Yosys.

Every family model is a :class:`~hwgen.cost.model.LinearCostModel`: the family writes
``features(kind, params)``, analytic counts of the hardware a configuration instantiates
(adder bits, flop bits, table entries, multiplier bit products, …), and each reported metric
(``generic.ge``, ``ice40.lut4``, ``ecp5.lut4``, …) is predicted as a non-negative weighted
sum of those counts. The weights are fitted to measured Yosys results and stored next to the
module as ``FAMILY.json``; ``hwgen calibrate`` refits them from a sweep.
"""
