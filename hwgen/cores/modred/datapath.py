"""Hardware for the steps of a :class:`hwgen.golden.modred.Plan`, and the pipeline stage.

Every lane is an unsigned signal exactly as wide as its bound in the plan, so the widths here
and the bounds the golden model asserts are the same numbers. Constant tables are built by
:func:`table` alone, as case statements (logic) or as a ROM with a registered read port
(block RAM); the lut, iterative and hybrid methods all fold through it.
"""
from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.golden import modred as golden

__all__ = ["lanes_layout", "table", "horner_acc", "const_mul", "StepStage"]


def width(bound):
    return max(1, bound.bit_length())


def lanes_layout(bounds, tag_bits):
    """Payload of a stream carrying the lanes ``bounds`` (name → bound) and the tag."""
    fields = {name: unsigned(width(bound)) for name, bound in bounds.items()}
    fields["tag"] = unsigned(tag_bits)
    return data.StructLayout(fields)


def table(m, index, entries, *, storage="logic", enable=None, name="table"):
    """``entries[index]``: a case statement (combinational), or with ``storage="bram"`` a
    ROM read through a synchronous port enabled by ``enable`` (the value appears one cycle
    later, like a pipeline register). ``index`` never exceeds ``len(entries) − 1``."""
    entry_width = width(max(entries))
    if storage == "bram":
        memory = Memory(shape=unsigned(entry_width), depth=len(entries), init=entries)
        m.submodules[name] = memory
        port = memory.read_port(domain="sync")
        m.d.comb += [port.addr.eq(index), port.en.eq(enable)]
        return port.data
    value = Signal(entry_width, name=name)
    with m.Switch(index):
        # Entries past what the index can address belong to wider uses of a shared table.
        for position, entry in enumerate(entries[:1 << len(index)]):
            if entry:
                with m.Case(position):
                    m.d.comb += value.eq(entry)
        # Zero entries and unreachable indices (a complete case statement for linting).
        with m.Default():
            m.d.comb += value.eq(0)
    return value


def horner_acc(m, shifted, step, name):
    """The iterative method's fold of ``shifted = acc · 2^k + group``:
    ``(shifted mod 2^n) + T[shifted >> n]``, as wide as the accumulator bound."""
    acc = Signal(width(step.acc_bound), name=name)
    m.d.comb += acc.eq(shifted[:step.n] + table(m, shifted[step.n:], step.table,
                                                name=f"{name}_table"))
    return acc


def const_mul(value, constant, truncate=0):
    """``value · constant``, from column ``truncate`` up (its NAF terms cut there, as
    :class:`hwgen.golden.modred.MulConst` defines).

    A sparse constant's terms are added from the lowest shift up, each into the bits at and
    above its shift only (the bits below are final by then), modulo the product's width: no
    adder spans bits that a term leaves unchanged. A dense constant is left to ``*`` (and a
    DSP block) when the product fits one (:data:`~hwgen.golden.modred.DSP_OPERAND_BITS`);
    a wider one is one sum of its NAF terms, which synthesis builds as one carry-save tree
    with a single carry-propagate adder: a third fewer partial products than the binary
    array of ``*``, and a product that can be truncated."""
    digits = golden.naf(constant)
    if constant and len(digits) <= golden.SPARSE_NAF_DIGITS and not truncate:
        bits = len(value) + constant.bit_length()
        total = Const(0, bits)
        for shift, digit in digits:
            high = total[shift:] + value if digit > 0 else total[shift:] - value
            total = Cat(total[:shift], high[:bits - shift])
        return total
    if truncate or max(len(value), constant.bit_length()) > golden.DSP_OPERAND_BITS:
        return _naf_sum(value, digits, truncate)
    return value * constant


def _naf_sum(value, digits, truncate):
    terms, complemented = [], 0
    for shift, digit in digits:
        if shift >= truncate:
            term = value << (shift - truncate)
            terms.append(term if digit > 0 else -term)
        elif digit > 0:
            terms.append(value[truncate - shift:])
        else:
            # −⌊v / 2^k⌋ − 1 is ⌊v / 2^k⌋ complemented: no adder for the borrow of the bits cut.
            terms.append(~Cat(value[truncate - shift:], Const(0, 1)).as_signed())
            complemented += 1
    total = sum(terms)
    # A zero operand leaves only the complemented terms' −1s; the product is zero there.
    if complemented:
        total += Mux(value.any(), 0, complemented)
    return total


def _field(value, lsb, bits):
    return value[lsb:min(lsb + bits, len(value))]


def _fold(m, step, values, storage, enable, registered):
    x = values[step.src]
    result = {step.low: x[:step.pos]}
    for name, (lsb, bits), entries in zip(step.outs, step.groups, step.tables):
        result[name] = table(m, _field(x, lsb, bits), entries, storage=storage, enable=enable,
                             name=f"table_{name}")
        if storage == "bram":
            registered.add(name)
    return result


def _horner(m, step, values, enable, registered):
    v = values[step.lane]
    keep = step.rest - step.k
    name = f"{step.lane}_acc{step.rest}"
    if not step.defer:
        acc = horner_acc(m, v[keep:], step, name=name)
        return {step.lane: Cat(v[:keep], acc)} if keep else {step.lane: acc}
    # Block-RAM table: the read port registers T[s >> n]; the next step adds it.
    top = v[step.rest:]
    acc_in = Signal(width(step.acc_bound), name=f"{name}_in")
    m.d.comb += acc_in.eq(top + values[step.pending] if step.pending else top)
    shifted = Cat(v[keep:step.rest], acc_in)
    registered.add(step.defer)
    return {step.lane: Cat(v[:keep], shifted[:step.n]),
            step.defer: table(m, shifted[step.n:], step.table, storage="bram", enable=enable,
                              name=f"{name}_table")}


def _add(step, values):
    return {dst: values[a] + values[b] for dst, a, b in step.pairs}


def _mul_const(step, values):
    operand = values[step.src]
    if step.keep_bits is not None:
        operand = operand[:step.keep_bits + step.shift_in]
    product = const_mul(operand[step.shift_in:], step.const,
                        step.truncate)[step.shift_out - step.truncate:]
    if step.keep_bits is not None:
        product = product[:step.keep_bits]
    result = {step.dst: product}
    if step.src_keep is not None:
        source = values[step.src]
        result[step.src] = source if step.src_keep == 0 else source[:step.src_keep]
    return result


def _sub(step, values):
    bits = step.bound.bit_length()
    return {step.dst: (values[step.a][:bits] - values[step.b][:bits])[:bits]}


def _shift_sub(step, values, bounds):
    # a − b is a multiple of 2^shift: the bits below it are equal and borrow nothing. The
    # sign of the difference gates the one bits of q added back, so no select follows.
    difference = values[step.a][step.shift:] - values[step.b][step.shift:]
    bits = width(step.out_bounds(bounds)[step.dst])
    return {step.dst: (difference + (difference[-1].replicate(step.q.bit_length()) & step.q))[:bits]}


def _correct(step, value, bound):
    # v − j·q for every j the bound allows; the largest non-negative one is v mod q.
    result = value
    for multiple in range(1, bound // step.q + 1):
        difference = Cat(value, Const(0, 1)).as_signed() - multiple * step.q
        result = Mux(difference >= 0, difference, result)
    return {step.dst: result}


def elaborate_step(m, step, values, bounds, *, storage, enable, registered):
    """Lane values after ``step`` (bounds before it in ``bounds``); lanes whose value is
    already registered (block-RAM reads) are added to ``registered``."""
    if isinstance(step, golden.Parallel):
        produced = {}
        for part in step.steps:
            produced.update(elaborate_step(m, part, values, bounds, storage=storage,
                                           enable=enable, registered=registered))
        return produced
    if isinstance(step, golden.Fold):
        return _fold(m, step, values, storage, enable, registered)
    if isinstance(step, golden.Horner):
        return _horner(m, step, values, enable, registered)
    if isinstance(step, golden.Add):
        return _add(step, values)
    if isinstance(step, golden.MulConst):
        return _mul_const(step, values)
    if isinstance(step, golden.Sub):
        return _sub(step, values)
    if isinstance(step, golden.ShiftSub):
        return _shift_sub(step, values, bounds)
    if isinstance(step, golden.Correct):
        return _correct(step, values[step.src], bounds[step.src])
    raise TypeError(f"no hardware for step {step!r}")  # pragma: no cover


class StepStage(wiring.Component):
    """Some consecutive plan steps followed by one pipeline register.

    Parameters
    ----------
    steps : list of plan steps
    bounds : list of lane bounds, before each step and after the last
    tag_bits : int
    storage : ``"logic"`` or ``"bram"`` (tables of :class:`~hwgen.golden.modred.Fold` steps)

    Members
    -------
    i : ``In(stream.Signature(lanes_layout(bounds[0], tag_bits)))``
    o : ``Out(stream.Signature(lanes_layout(bounds[-1], tag_bits)))``

    Latency: 1 cycle. Throughput: one beat per cycle while ``o`` is ready.
    """

    def __init__(self, steps, bounds, *, tag_bits, storage="logic"):
        self._steps = steps
        self._bounds = bounds
        self._storage = storage
        super().__init__({
            "i": In(stream.Signature(lanes_layout(bounds[0], tag_bits))),
            "o": Out(stream.Signature(lanes_layout(bounds[-1], tag_bits))),
        })

    def datapath(self, m, lanes, *, enable=None):
        """The stage's steps on ``lanes`` (name → value, the input lanes), added to ``m``:
        ``(values, registered)``, the output lanes and the names of those already registered
        (block-RAM reads, enabled by ``enable``; none with logic tables)."""
        values = dict(lanes)
        registered = set()
        for step, bounds in zip(self._steps, self._bounds):
            produced = elaborate_step(m, step, values, bounds, storage=self._storage,
                                      enable=enable, registered=registered)
            values = {name: value for name, value in values.items()
                      if name not in step.consumes}
            values.update(produced)
        return {name: values[name] for name in self._bounds[-1]}, registered

    def elaborate(self, platform):
        m = Module()
        advance = Signal()
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready), self.i.ready.eq(advance)]
        values, registered = self.datapath(
            m, {name: self.i.p[name] for name in self._bounds[0]}, enable=advance)
        with m.If(advance):
            m.d.sync += self.o.valid.eq(self.i.valid)
        for name in [*self._bounds[-1], "tag"]:
            source = self.i.p.tag if name == "tag" else values[name]
            if name in registered:
                m.d.comb += self.o.p[name].eq(source)
                continue
            register = Signal(self.o.p[name].shape(), name=f"{name}_q")
            with m.If(advance):
                m.d.sync += register.eq(source)
            m.d.comb += self.o.p[name].eq(register)
        return m
