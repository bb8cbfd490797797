"""Weight-format conversion: one beat's codes to keys (for tables) or 2-bit codes (per weight)."""
from amaranth import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.common import adder_tree
from hwgen.cores.ternary.layout import weight_layout
from hwgen.golden import ternary as golden

__all__ = ["WeightConverter"]

_CODE2 = {0: 0b00, 1: 0b01, -1: 0b11}


class WeightConverter(wiring.Component):
    """Converts one beat's weights from ``params.weight_format`` to ``target``.

    Parameters
    ----------
    params : :class:`~hwgen.cores.ternary.params.TernaryParams`
    target : ``"key"`` or ``"code2"``
        Keys feed the half tables of ``ternary_lut``; 2-bit codes feed the per-weight
        datapaths of the baselines.

    Members
    -------
    w : ``In(weight_layout(params))``
        ``[lane][code]`` in the parameter set's format.
    out : ``Out(weight_layout(params, target))``
        The same weights as ``[lane][code]`` in ``target`` (unspecified where invalid).
    invalid : ``Out(lanes)``
        Bit ``k``: one of lane ``k``'s codes is invalid (a key beyond the half table or the
        negative zero key, code2 ``10``, a base3 byte ≥ 243).

    Conversions: key → code2 and base3 → code2 are case statements over every code;
    code2 → key adds ``±3**j`` per weight and splits sign and magnitude.

    Latency: 0 cycles (combinational).
    """

    def __init__(self, params, target):
        if target not in ("key", "code2"):
            raise ValueError(f"target must be 'key' or 'code2', not {target!r}")
        self._p = params
        self._target = target
        super().__init__({
            "w": In(weight_layout(params)),
            "out": Out(weight_layout(params, target)),
            "invalid": Out(params.lanes),
        })

    def elaborate(self, platform):
        m = Module()
        p = self._p
        for lane in range(p.lanes):
            codes = [self.w[lane][index] for index in range(len(self.w[lane]))]
            name = f"lane{lane}"
            if p.weight_format == "key":
                if self._target == "key":
                    out, valid = codes, [self._key_valid(key) for key in codes]
                else:
                    out, valid = self._keys_to_code2(m, codes, name)
            else:
                if p.weight_format == "code2":
                    trits, valid = codes, [code != 0b10 for code in codes]
                else:
                    trits, valid = self._base3_to_code2(m, codes, name)
                out = trits if self._target == "code2" else [
                    self._code2_to_key(m, trits[group * p.mu:(group + 1) * p.mu],
                                       f"{name}_g{group}")
                    for group in range(p.n_tables)]
            m.d.comb += [self.out[lane][index].eq(value) for index, value in enumerate(out)]
            m.d.comb += self.invalid[lane].eq(~Cat(*valid).all())
        return m

    def _key_valid(self, key):
        mu = self._p.mu
        magnitude, sign = key[:golden.mag_bits(mu)], key[golden.mag_bits(mu)]
        return (magnitude <= golden.half_size(mu)) & ~(sign & (magnitude == 0))

    @staticmethod
    def _case_table(m, code, table, width, name):
        """``(value, valid)`` of ``code`` looked up in ``table`` (every code value → its
        weights' 2-bit codes and validity) by a complete case statement."""
        value = Signal(width, name=f"{name}_code2")
        valid = Signal(name=f"{name}_valid")
        with m.Switch(code):
            for index, (weights, ok) in enumerate(table):
                with m.Case(index):
                    m.d.comb += [value.eq(Cat(*[Const(_CODE2[t], 2) for t in weights])),
                                 valid.eq(ok)]
        return [value[2 * j:2 * j + 2] for j in range(width // 2)], valid

    def _keys_to_code2(self, m, keys, name):
        """Each key's µ weights as 2-bit codes."""
        mu = self._p.mu
        trits, valid = golden.decode_keys(range(1 << golden.key_bits(mu)), mu)
        table = list(zip(trits.tolist(), valid.tolist()))
        out, valid = [], []
        for group, key in enumerate(keys):
            weights, ok = self._case_table(m, key, table, 2 * mu, f"{name}_g{group}")
            out += weights
            valid.append(ok)
        return out, valid

    def _base3_to_code2(self, m, codes, name):
        """The first L·µ weights of the bytes as 2-bit codes."""
        trits, valid = golden.decode_base3([[byte] for byte in range(256)], 5)
        table = list(zip(trits.tolist(), valid[:, 0].tolist()))
        out, valid = [], []
        for index, byte in enumerate(codes):
            weights, ok = self._case_table(m, byte, table, 10, f"{name}_b{index}")
            out += weights
            valid.append(ok)
        return out[:self._p.reduction], valid

    def _code2_to_key(self, m, trits, name):
        """Key of a group: ``v = Σ ±3**j``, as sign and magnitude."""
        mu = self._p.mu
        value = Signal(signed(golden.mag_bits(mu) + 1), name=f"{name}_value")
        m.d.comb += value.eq(adder_tree([Mux(trit[0], Mux(trit[1], -(3 ** j), 3 ** j), 0)
                                         for j, trit in enumerate(trits)]))
        negative = value < 0
        magnitude = Mux(negative, -value, value)[:golden.mag_bits(mu)]
        return Cat(magnitude, negative)
