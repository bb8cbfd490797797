"""Parameters of the modular-reduction family: ``modred`` (x mod q) and ``modmul`` (a·b mod q)."""
import dataclasses

from hwgen.cost import modred as cost
from hwgen.golden import moduli
from hwgen.golden import modred as golden
from hwgen.params import (Choice, Int, Params, ParamTypeError, ParamValueError, Rule,
                          did_you_mean, param, shown)

__all__ = ["ModulusRule", "ReductionParams", "ReducerParams", "ModMulParams"]

MAX_MODULUS_BITS = 16384


class ModulusRule(Rule):
    """An integer modulus, or the name of one in :mod:`hwgen.golden.moduli`."""

    def describe(self):
        return (f"an integer between 3 and 2^{MAX_MODULUS_BITS} or the name of a modulus in "
                f"hwgen.golden.moduli")

    def check(self, name, value):
        if isinstance(value, str):
            if value not in moduli.MODULI:
                raise ParamValueError(name, f"must be {self.describe()}, not {shown(value)}"
                                            f"{did_you_mean(value, moduli.MODULI)}")
            return
        if not isinstance(value, int) or isinstance(value, bool):
            raise ParamTypeError(name, f"must be {self.describe()}, not {shown(value)}")
        if not 3 <= value <= 1 << MAX_MODULUS_BITS:
            raise ParamValueError(name, f"must be {self.describe()}, not {shown(value)}")


@dataclasses.dataclass(frozen=True)
class ReductionParams(Params):
    """Parameters shared by the reducer and the modular multiplier."""
    modulus: object = param("kyber", ModulusRule(),
                            "the modulus q: an integer, or a name from hwgen.golden.moduli "
                            "(bn254_r, bls12_381_p, goldilocks, kyber, seal_8192_0, ...)")
    method: str = param("auto", Choice("auto", *golden.METHODS),
                        "lut, iterative, hybrid (ALLMod), barrett, montgomery (r = x·R⁻¹ mod "
                        "q), special (2^n − c forms), or auto: the cheapest by the cost model")
    k: int = param(4, Int(1, 12), "bits per table group (lut, iterative, hybrid)")
    table_storage: str = param("logic", Choice("logic", "bram"),
                               "lut/hybrid tables as logic (case statements) or block RAM")
    lut_groups: int = param(None, Int(0, 1 << 14),
                            "hybrid: groups through parallel tables (the rest go through the "
                            "iterative chain); default: half of the groups above the modulus")
    merge_level: int = param(None, Int(0, 64),
                             "hybrid: table adder-tree levels done before the iterative "
                             "result joins; default: the whole table tree")
    r_bits: int = param(None, Int(2, 1 << 16),
                        "montgomery: R = 2^r_bits; default max(n, in_bits − n + 1), so that "
                        "one subtraction corrects the result")
    stages: int = param(None, Int(1, 4096),
                        "pipeline registers after the datapath steps; default: one per step")
    tag_bits: int = param(8, Int(1, 1 << 16), "width of the pass-through tag")

    # -- values derived from the modulus -------------------------------------------------
    @property
    def q(self):
        return moduli.lookup(self.modulus)

    @property
    def n(self):
        return self.q.bit_length()

    def _input_bits(self):
        raise NotImplementedError  # pragma: no cover - abstract

    @property
    def resolved_method(self):
        if self.method != "auto":
            return self.method
        return cost.choose_method(self.kind_name, self.q, self._input_bits(), self.k,
                                  self.table_storage, self.tag_bits)

    def _groups(self):
        return golden.hybrid_groups(self.q, self._input_bits(), self.k)

    def _default(self, name):
        value = getattr(self, name)
        if value is not None:
            return value
        in_bits = self._input_bits()
        if name in ("lut_groups", "merge_level"):
            split = golden.default_split(self.q, in_bits, self.k, self.lut_groups,
                                         self.merge_level)
            return split[name == "merge_level"]
        if name == "r_bits":
            return golden.default_r_bits(self.q, in_bits)
        if name == "stages":
            return len(self._plan_with_defaults().steps)
        raise KeyError(name)  # pragma: no cover - every derived parameter is listed

    def _plan_with_defaults(self):
        return golden.build_plan(self.q, self._input_bits(), self.resolved_method, k=self.k,
                                 lut_groups=self._default("lut_groups"),
                                 merge_level=self._default("merge_level"),
                                 r_bits=self._default("r_bits"),
                                 table_storage=self.table_storage)

    def derive(self):
        return {name: self._default(name)
                for name in ("lut_groups", "merge_level", "r_bits", "stages")}

    def check(self):
        q, n, in_bits = self.q, self.n, self._input_bits()
        method = self.method
        if in_bits < n:
            raise ParamValueError("in_bits", f"must be at least the modulus width ({n} bits), "
                                             f"not {in_bits!r}")
        if method == "montgomery" and q % 2 == 0:
            raise ParamValueError("modulus", f"must be odd for method 'montgomery', not {shown(q)}")
        if method == "special" and golden.special_folds(q, in_bits) is None:
            raise ParamValueError("modulus", f"must be 2^n − c with c small enough that "
                                             f"{golden.MAX_SPECIAL_FOLDS} folds reduce "
                                             f"{in_bits}-bit inputs below 3q for method "
                                             f"'special', not {shown(q)}")
        if self.table_storage == "bram" and method not in ("lut", "hybrid", "auto"):
            raise ParamValueError("table_storage", f"must be 'logic' for method {method!r}, "
                                                   f"not 'bram'")
        if self.r_bits is not None and self.r_bits < n:
            raise ParamValueError("r_bits", f"must be at least the modulus width ({n} bits), "
                                            f"not {self.r_bits!r}")
        groups = self._groups()
        if self.lut_groups is not None and self.lut_groups > groups:
            raise ParamValueError("lut_groups", f"must be at most {groups} (the {self.k}-bit "
                                                f"groups above the modulus width), not "
                                                f"{self.lut_groups!r}")
        lanes = self._default("lut_groups")
        depth = (lanes - 1).bit_length() if lanes else 0
        if self.merge_level is not None and self.merge_level > depth:
            raise ParamValueError("merge_level", f"must be at most {depth} (the levels of the "
                                                 f"adder tree over {lanes} tables), not "
                                                 f"{self.merge_level!r}")
        if self.stages is not None:
            plan = self._plan_with_defaults()
            forced = golden.forced_cuts(plan, self.table_storage)
            low, high = len(forced | {len(plan.steps) - 1}), len(plan.steps)
            if not low <= self.stages <= high:
                raise ParamValueError("stages", f"must be between {low} and {high} for this "
                                                f"configuration, not {self.stages!r}")

    def unused(self):
        method = self.resolved_method
        rules = {}
        if method != "hybrid":
            rules.update(lut_groups=f"applies only to method 'hybrid', not {method!r}",
                         merge_level=f"applies only to method 'hybrid', not {method!r}")
        if method != "montgomery":
            rules["r_bits"] = f"applies only to method 'montgomery', not {method!r}"
        return rules

    # -- the datapath ----------------------------------------------------------------------
    @property
    def plan(self):
        return golden.build_plan(self.q, self._input_bits(), self.resolved_method, k=self.k,
                                 lut_groups=self.lut_groups, merge_level=self.merge_level,
                                 r_bits=self.r_bits, table_storage=self.table_storage)

    @property
    def cuts(self):
        """Indices of the plan steps followed by a pipeline register."""
        plan = self.plan
        return golden.stage_cuts(len(plan.steps), self.stages,
                                 golden.forced_cuts(plan, self.table_storage))


@dataclasses.dataclass(frozen=True)
class ReducerParams(ReductionParams):
    in_bits: int = param(None, Int(2, 1 << 16),
                         "input width; default 2n for an n-bit modulus (a full product)")
    kind_name = "modred"

    def _input_bits(self):
        return self.in_bits if self.in_bits is not None else 2 * self.n

    def derive(self):
        return {"in_bits": self._input_bits(), **super().derive()}


@dataclasses.dataclass(frozen=True)
class ModMulParams(ReductionParams):
    kind_name = "modmul"

    def _input_bits(self):
        return 2 * self.n

    @property
    def in_bits(self):
        return self._input_bits()
