"""Golden model of the ``llm_tile`` top: a command-level model of the whole tile.

The tile takes commands on one stream ``i`` and answers on one stream ``o``. A command beat
has the fields ``op``, ``last``, ``addr`` (16 bits) and ``data`` (``data_bits``, the widest
of a weight word, an activation chunk, a query chunk and a KV word); a response beat has
``kind`` (the ``op`` it answers), ``err`` (:data:`ERRORS`), ``addr`` and ``value``.

Commands (:data:`OPS`)
    ``LOAD_W``   write weight word ``addr`` (``words`` of them) with ``data``; ``last`` asks
                 for an acknowledgement (``kind=LOAD_W, err=0, value=0``).
    ``LOAD_Q``   write query chunk ``addr`` (``q_words`` of them, ``q_lanes`` elements each)
                 and start a new sequence (block index 0); ``last`` asks for an
                 acknowledgement.
    ``KBLOCK``   one ``in_bits`` word of a compressed key block (:mod:`hwgen.golden.kvformat`),
                 ``last`` on its final word. Each block answers with its score
                 ``q·k`` (``kind=KBLOCK``, ``addr`` = block index in the sequence).
    ``MATVEC``   write activation chunk ``addr`` (``chunks`` of them); on ``last`` run
                 ``y = W·x`` and answer with ``rows`` results (``kind=MATVEC``,
                 ``addr`` = row).
    ``LOAD_T``   (runtime Huffman tables only) one entry of a table set
                 (:func:`hwgen.golden.kvformat.table_entries`, in order; ``addr`` ignored),
                 ``last`` on the final one: the set is committed and acknowledged. Blocks
                 that start later use it (a block starts with its first word); a load that
                 begins while a committed set has not been used by any block replaces it.

Errors (a response with ``err`` set has ``value`` 0)
    ``BAD_OP``       an unknown ``op``; the beat is otherwise ignored.
    ``BAD_ADDR``     ``addr`` beyond the memory the command writes; nothing is written and
                     a ``last`` beat neither acknowledges nor runs.
    ``NO_WEIGHTS``   ``MATVEC`` ``last`` before any weight word was loaded (no run).
    ``BAD_WEIGHTS``  a result whose weights hold invalid codes (the engine's ``err``:
                     invalid ternary codes, or a bit-serial ``prec`` outside 2..weight_bits).
    ``BAD_BLOCK``    a corrupt key block (any verdict of :data:`hwgen.golden.kvformat.ERRORS`).
    ``NO_QUERY``     a key block scored before any query chunk was loaded.
    ``BAD_TABLES``   the answer to a ``LOAD_T`` set of the wrong number of entries; the set
                     is committed as invalid, so every block that uses it is ``BAD_BLOCK``.

Memories start zeroed (the hardware clears them after reset). A key block is scored with
the query as it stands when the block's last word arrives; words of an unfinished block
may be interleaved with other commands. Results of the engines are those of the family
golden models (:mod:`hwgen.golden.ternary`, :mod:`hwgen.golden.bitserial`); a block's
values are those of :mod:`hwgen.golden.huffman`.

Weight memory layout: word ``g·chunks + c`` holds the weights of engine beat ``c`` of row
group ``g`` (``rows_per_dot`` rows: the ternary engine's lanes, or 1 row for the bit-serial
family) — exactly the weight-side fields of the engine's input beat (:meth:`Geometry.
word_fields`).

With DFloat11 weights (``dfloat`` set; engine ``ternary_mac`` with ``bf16`` weight values)
the weight memory holds ``weight_words`` words of a compressed stream instead: ``data``
(``dfloat.in_bits``) and ``last``. The BF16 weights of those engine words, in the same
order (engine word after engine word, each lane-major), are cut into blocks of
``dfloat.group_size`` values and encoded with the tile's codebooks
(:mod:`hwgen.golden.dfloat`). A run decodes the memory from word 0: each block's words up
to one with ``last``; an address past the memory reads as a zero word with ``last``. A
result row whose weights came (in part) from a block with an error verdict is
``BAD_WEIGHTS``.
"""
import dataclasses

import numpy as np

from hwgen.golden import kvformat as kv
from hwgen.flow.payload import pack, unpack
from hwgen.golden import bitserial, dfloat, huffman, ternary

__all__ = [
    "OPS", "ERRORS", "MAX_INDEX", "ADDR_BITS", "MAX_COMMAND_BITS", "Geometry", "TileModel",
    "run", "command", "load_words", "load_weights", "load_query", "key_blocks",
    "block_beats", "matvec", "directed", "random_commands", "vectors",
]

OPS = {"LOAD_W": 1, "LOAD_Q": 2, "KBLOCK": 3, "MATVEC": 4, "LOAD_T": 5}
ERRORS = {"OK": 0, "BAD_OP": 1, "BAD_ADDR": 2, "NO_WEIGHTS": 3, "BAD_WEIGHTS": 4,
          "BAD_BLOCK": 5, "NO_QUERY": 6, "BAD_TABLES": 7}
OP_BITS = 3
ERR_BITS = 3
ADDR_BITS = 16
MAX_INDEX = 1 << ADDR_BITS
#: Widest command beat: 64 bytes, so that a UART frame stays short.
MAX_COMMAND_BITS = 512


def _field(lsb, width, signed, count=None, dims=None):
    entry = {"lsb": lsb, "width": width * (count or 1), "signed": signed}
    if count is not None:
        entry.update(count=count, elem_width=width)
        if dims is not None and len(dims) > 1:
            entry["dims"] = list(dims)
    return entry


def _fields(parts):
    """Manifest-style field descriptions of ``(name, elem_width, signed, dims)`` packed
    LSB-first in order (``dims`` ``None`` for a plain field)."""
    fields, lsb = {}, 0
    for name, width, signed, dims in parts:
        count = int(np.prod(dims)) if dims is not None else None
        fields[name] = _field(lsb, width, signed, count, dims)
        lsb += fields[name]["width"]
    return fields


def _width(fields):
    return sum(field["width"] for field in fields.values())


def _signed_bits(bound):
    """Width of a signed value reaching ``±bound``."""
    return bound.bit_length() + 1


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Sizes of the tile's memories and payloads, from its parameters."""
    engine: str
    engine_params: object
    rows: int
    cols: int
    kv: object
    q_bits: int
    dfloat: object = None
    weight_words: int = None

    @property
    def ternary(self):
        return self.engine.startswith("ternary")

    @property
    def value_weights(self):
        """Weights enter the engine as values of the activation type (``ternary_mac``)."""
        return self.ternary and ternary.is_value_format(self.engine_params.weight_format)

    @property
    def chunk(self):
        """Activations per engine beat."""
        p = self.engine_params
        return p.n_tables * p.mu if self.ternary else p.lanes

    @property
    def rows_per_dot(self):
        """Rows one engine dot product computes."""
        return self.engine_params.lanes if self.ternary else 1

    @property
    def chunks(self):
        return self.cols // self.chunk

    @property
    def groups(self):
        return self.rows // self.rows_per_dot

    @property
    def beats(self):
        """Engine beats of a matrix-vector product (weight words, uncompressed)."""
        return self.groups * self.chunks

    @property
    def weights_per_beat(self):
        return self.rows_per_dot * self.chunk

    @property
    def blocks(self):
        """DFloat11 blocks of the weight matrix."""
        return self.rows * self.cols // self.dfloat.group_size

    @property
    def raw_block_words(self):
        """Stream words of a DFloat11 block at its longest (raw exponents)."""
        d = self.dfloat
        return -(-(16 * d.group_size + d.book_bits) // d.in_bits)

    @property
    def words(self):
        """Depth of the weight memory."""
        return self.weight_words if self.dfloat is not None else self.beats

    @property
    def act_width(self):
        return self.engine_params.act_bits

    @property
    def act_signed(self):
        p = self.engine_params
        return p.act_type == "int" if self.ternary else p.act_signed

    def act_fields(self):
        return _fields([("a", self.act_width, self.act_signed, (self.chunk,))])

    def word_fields(self):
        """The weight-side fields of an engine input beat, in the engine's order."""
        p = self.engine_params
        if self.dfloat is not None:
            return _fields([("data", self.dfloat.in_bits, False, None),
                            ("last", 1, False, None)])
        if self.ternary:
            codes = ternary.codes_per_lane(p)
            return _fields([("w", ternary.code_bits(p), self.value_weights and self.act_signed,
                             (p.lanes, codes))])
        parts = [("w", p.weight_bits, False, (p.lanes,))]
        if p.has_prec:
            parts.append(("prec", p.weight_bits.bit_length(), False, None))
        parts.append(("scale", p.scale_bits, False, None))
        if p.weight_format == "bitmod":
            parts.append(("dtype", 2, False, None))
        return _fields(parts)

    @property
    def q_lanes(self):
        return self.kv.lanes

    @property
    def q_words(self):
        return self.kv.words_per_block

    def q_fields(self):
        return _fields([("q", self.q_bits, True, (self.q_lanes,))])

    @property
    def word_bits(self):
        return _width(self.word_fields())

    @property
    def act_chunk_bits(self):
        return _width(self.act_fields())

    @property
    def q_chunk_bits(self):
        return _width(self.q_fields())

    @property
    def table_entries(self):
        """Entries of a ``LOAD_T`` table set (0 for static tables)."""
        return len(kv.table_entries(self.kv)) if self.kv.runtime else 0

    @property
    def table_entry_bits(self):
        """Width of a ``LOAD_T`` entry (0 for static tables)."""
        return max(self.kv.sym_bits + 1, self.kv.centroid_bits) if self.kv.runtime else 0

    @property
    def ops(self):
        """The opcodes this tile knows (``LOAD_T`` only with runtime tables)."""
        return {name: code for name, code in OPS.items()
                if name != "LOAD_T" or self.kv.runtime}

    @property
    def data_bits(self):
        return max(self.word_bits, self.act_chunk_bits, self.q_chunk_bits, self.kv.in_bits,
                   self.table_entry_bits)

    def command_fields(self):
        return _fields([("op", OP_BITS, False, None), ("last", 1, False, None),
                        ("addr", ADDR_BITS, False, None), ("data", self.data_bits, False, None)])

    @property
    def command_bits(self):
        return _width(self.command_fields())

    @property
    def result_bits(self):
        """Width of an engine result (float results are unsigned bit patterns)."""
        p = self.engine_params
        return p.acc_bits + int(self.ternary and p.act_type != "int")

    @property
    def score_bits(self):
        """Width holding every score ``q·k`` exactly."""
        kv_format = self.kv
        value_bound = (1 << (kv_format.centroid_bits - 1)) * ((1 << kv_format.scale_bits) - 1)
        return _signed_bits(kv_format.group_size * (1 << (self.q_bits - 1)) * value_bound)

    @property
    def value_bits(self):
        return max(self.result_bits, self.score_bits)

    def response_fields(self):
        return _fields([("kind", OP_BITS, False, None), ("err", ERR_BITS, False, None),
                        ("addr", ADDR_BITS, False, None), ("value", self.value_bits, True, None)])


def _mask(bits):
    return (1 << bits) - 1


def _response(op, addr, value=0, err="OK"):
    return {"kind": op, "err": ERRORS[err], "addr": addr, "value": int(value)}


class TileModel:
    """The tile's state and its answer to each command beat."""

    def __init__(self, p):
        self.p = p
        self.g = g = p.geometry
        self.words = [0] * g.words
        self.activations = [0] * g.chunks
        self.query = [0] * g.q_words
        self.weights_loaded = False
        self.query_loaded = False
        self.block = []
        self.block_index = 0
        self.tables = p.kv.table_set()       # in force for blocks that start now
        self.pending = None                  # committed, not yet used by a block
        self.block_tables = None             # the set the unfinished block started with
        self.load = []                       # entries of an unfinished LOAD_T set
        if g.dfloat is not None:
            self.codebooks = g.dfloat.codebook_set()

    def step(self, beat):
        """The response beats to one command beat (a dict of the command fields)."""
        g = self.g
        op, last = beat.get("op", 0), beat.get("last", 0)
        addr, data = beat.get("addr", 0), beat.get("data", 0)
        if op == OPS["KBLOCK"]:
            if not self.block:
                if self.pending is not None:
                    self.tables, self.pending = self.pending, None
                self.block_tables = self.tables
            self.block.append(data & _mask(self.p.kv.in_bits))
            return [self._score()] if last else []
        if op == OPS["LOAD_T"] and g.table_entries:
            if not self.load:
                self.pending = None
            self.load.append(data & _mask(g.table_entry_bits))
            if not last:
                return []
            words, self.load = self.load, []
            self.pending = kv.tables_from_words(self.p.kv.format_of(), words)
            return [_response(op, addr, err="OK" if self.pending.valid else "BAD_TABLES")]
        if op == OPS["LOAD_W"]:
            return self._write(self.words, op, addr, data & _mask(g.word_bits), last,
                               "weights_loaded")
        if op == OPS["LOAD_Q"]:
            responses = self._write(self.query, op, addr, data & _mask(g.q_chunk_bits), last,
                                    "query_loaded")
            if addr < g.q_words:
                self.block_index = 0
            return responses
        if op == OPS["MATVEC"]:
            if addr < g.chunks:
                self.activations[addr] = data & _mask(g.act_chunk_bits)
            if addr >= g.chunks:
                return [_response(op, addr, err="BAD_ADDR")]
            if not last:
                return []
            if not self.weights_loaded:
                return [_response(op, addr, err="NO_WEIGHTS")]
            return self._matvec()
        return [_response(op, addr, err="BAD_OP")]

    def _write(self, memory, op, addr, value, last, flag):
        if addr >= len(memory):
            return [_response(op, addr, err="BAD_ADDR")]
        memory[addr] = value
        setattr(self, flag, True)
        return [_response(op, addr)] if last else []

    def _score(self):
        p, g = self.p, self.g
        result = kv.decode_words(self.block, p.kv.in_bits, p.kv.format_of(), self.block_tables)
        self.block = []
        index = self.block_index
        self.block_index = (self.block_index + 1) % MAX_INDEX
        if result.err:
            return _response(OPS["KBLOCK"], index, err="BAD_BLOCK")
        if not self.query_loaded:
            return _response(OPS["KBLOCK"], index, err="NO_QUERY")
        query = [element for word in self.query
                 for element in unpack(g.q_fields(), word)["q"]]
        score = sum(int(q) * int(v) for q, v in zip(query, result.values))
        return _response(OPS["KBLOCK"], index, score)

    def _matvec(self):
        g = self.g
        ep = g.engine_params
        activations = np.array([unpack(g.act_fields(), word)["a"]
                                for word in self.activations], dtype=np.int64)
        responses = []
        if g.dfloat is not None:
            engine_words, bad_words = self._decompressed()
        for group in range(g.groups):
            span = slice(group * g.chunks, (group + 1) * g.chunks)
            if g.dfloat is not None:
                words = [{"w": word} for word in engine_words[span]]
            else:
                words = [unpack(g.word_fields(), word) for word in self.words[span]]
            if g.ternary:
                y, err = ternary.dot_products(ep, {
                    "a": activations, "w": np.array([word["w"] for word in words])})
            else:
                value, bad = bitserial.dot_product(ep, {
                    "a": activations, "w": np.array([word["w"] for word in words]),
                    "prec": np.array([word.get("prec", 0) for word in words]),
                    "scale": np.array([word["scale"] for word in words]),
                    "dtype": np.array([word.get("dtype", 0) for word in words])})
                y, err = [value], [bad]
            if g.dfloat is not None:
                err = [int(bad or bad_words[span].any()) for bad in err]
            for lane, (value, bad) in enumerate(zip(y, err)):
                row = group * g.rows_per_dot + lane
                responses.append(_response(OPS["MATVEC"], row, 0 if bad else value,
                                           "BAD_WEIGHTS" if bad else "OK"))
        return responses

    def _decompressed(self):
        """The engine words (beats × lanes × chunk BF16 values) the weight memory's DFloat11
        blocks decode to, and for each whether it holds values of a block with an error."""
        g, d = self.g, self.g.dfloat
        values, bad, address = [], [], 0
        for _ in range(g.blocks):
            block = []
            while True:
                word = (unpack(g.word_fields(), self.words[address]) if address < g.words
                        else {"data": 0, "last": 1})
                address += 1
                block.append(word["data"])
                if word["last"]:
                    break
            result = dfloat.decode_words(block, d.in_bits, d.format_of(), self.codebooks)
            values.append(result.values.astype(np.int64))
            bad.append(np.full(d.group_size, result.err, dtype=bool))
        words = np.concatenate(values).reshape(g.beats, g.rows_per_dot, g.chunk)
        return words, np.concatenate(bad).reshape(g.beats, -1).any(axis=1)


def run(p, beats):
    """The response beats the tile gives to the command ``beats``, from power-on."""
    model = TileModel(p)
    return [response for beat in beats for response in model.step(beat)]


# --- command builders (used by tests, the host driver and the vectors) ----------------------

def command(op, addr=0, data=0, last=0):
    """One command beat; ``op`` is a name of :data:`OPS` or a raw number."""
    return {"op": OPS.get(op, op), "last": int(last), "addr": int(addr), "data": int(data)}


def _stream(op, datas, addrs=None):
    addrs = range(len(datas)) if addrs is None else addrs
    return [command(op, addr, data, last=index == len(datas) - 1)
            for index, (addr, data) in enumerate(zip(addrs, datas))]


def load_words(p, words, addrs=None):
    """``LOAD_W`` beats writing weight ``words`` (dicts of :meth:`Geometry.word_fields`) at
    ``addrs`` (default 0, 1, …), ``last`` on the final one."""
    fields = p.geometry.word_fields()
    return _stream("LOAD_W", [pack(fields, word) for word in words], addrs)


def _weight_words_ternary(p, weights):
    g, ep = p.geometry, p.engine_params
    words = []
    for group in range(g.groups):
        for chunk in range(g.chunks):
            block = weights[group * ep.lanes:(group + 1) * ep.lanes,
                            chunk * g.chunk:(chunk + 1) * g.chunk]
            words.append({"w": block if g.value_weights else ternary.encode(block, ep)})
    return words


def compressed_words(p, words):
    """The weight memory image of engine ``words`` of BF16 values (dicts with ``w``, lanes ×
    chunk each): DFloat11 blocks of their values in order, encoded with the tile's
    codebooks, as memory words (dicts with ``data`` and ``last``)."""
    d = p.dfloat
    fmt, codebooks = d.format_of(), d.codebook_set()
    values = np.concatenate([np.asarray(word["w"], dtype=np.int64).ravel() for word in words])
    image = []
    for group in values.astype(np.uint16).reshape(-1, d.group_size):
        block = dfloat.block_words(dfloat.encode_block(group, fmt, codebooks), d.in_bits)
        image += [{"data": word, "last": int(index == len(block) - 1)}
                  for index, word in enumerate(block)]
    return image


def _weight_words_bitserial(p, codes, scales, prec, dtypes):
    g, ep = p.geometry, p.engine_params
    words = []
    for row in range(g.rows):
        for chunk in range(g.chunks):
            group = chunk * ep.lanes // ep.group_size
            word = {"w": codes[row, chunk * ep.lanes:(chunk + 1) * ep.lanes],
                    "scale": int(scales[row, group])}
            if ep.has_prec:
                word["prec"] = int(prec)
            else:
                word["dtype"] = int(dtypes[row, group])
            words.append(word)
    return words


def load_weights(p, weights, *, scales=None, prec=None, dtypes=None):
    """``LOAD_W`` beats loading the whole matrix ``weights`` (rows × cols).

    Ternary engines: ``weights`` in {−1, 0, +1}, encoded in ``weight_format``; in a value
    format (``ternary_mac``) the values themselves (bit patterns for floats), DFloat11
    compressed when the tile has ``dfloat`` weights (the beats write the compressed image
    from address 0; words past ``weight_words`` are answered ``BAD_ADDR``). Bit-serial
    engines: weight codes, with per-group ``scales`` (rows × ⌈cols/group_size⌉, default 1),
    one runtime precision ``prec`` (``int``/``uint``, default ``weight_bits``) or per-group
    ``dtypes`` (``bitmod``, default 0).
    """
    g, ep = p.geometry, p.engine_params
    weights = np.asarray(weights, dtype=np.int64)
    if weights.shape != (g.rows, g.cols):
        raise ValueError(f"weights must be {g.rows} × {g.cols}, not {weights.shape}")
    if g.ternary:
        words = _weight_words_ternary(p, weights)
        return load_words(p, compressed_words(p, words) if g.dfloat is not None else words)
    groups = -(-g.cols // ep.group_size)
    scales = np.ones((g.rows, groups), np.int64) if scales is None else np.asarray(scales)
    dtypes = np.zeros((g.rows, groups), np.int64) if dtypes is None else np.asarray(dtypes)
    prec = ep.weight_bits if prec is None else prec
    return load_words(p, _weight_words_bitserial(p, weights, scales, prec, dtypes))


def load_query(p, query):
    """``LOAD_Q`` beats loading the ``group_size`` query elements."""
    g = p.geometry
    query = np.asarray(query, dtype=np.int64).reshape(g.q_words, g.q_lanes)
    return _stream("LOAD_Q", [pack(g.q_fields(), {"q": chunk}) for chunk in query])


def block_beats(p, blocks):
    """``KBLOCK`` beats of blocks given as word lists (``last`` on each block's final word)."""
    return [command("KBLOCK", 0, word, last=index == len(words) - 1)
            for words in blocks for index, word in enumerate(words)]


def load_tables(p, words):
    """``LOAD_T`` beats loading a table set given as its load words
    (:func:`hwgen.golden.kvformat.table_words`)."""
    return _stream("LOAD_T", list(words), [0] * len(words))


def event_beats(p, events):
    """Beats of :mod:`hwgen.golden.huffman` events: blocks and table loads."""
    beats = []
    for event in events:
        if isinstance(event, huffman.TableLoad):
            beats += load_tables(p, event.words)
        else:
            beats += block_beats(p, [event.words])
    return beats


def key_blocks(p, keys, step=None):
    """``KBLOCK`` beats of float key vectors ``keys`` (n × group_size), compressed with the
    tile's static tables; also returns the exact integer values each block decodes to."""
    fmt = p.kv.format_of()
    encoded = kv.encode(np.asarray(keys, dtype=np.float64), fmt, p.kv.table_set(), step=step)
    blocks = [kv.words_of(block, p.kv.in_bits) for block in encoded.blocks]
    return block_beats(p, blocks), encoded.values()


def matvec(p, x):
    """``MATVEC`` beats: the activation vector ``x`` (cols), then the run."""
    g = p.geometry
    x = np.asarray(x, dtype=np.int64).reshape(g.chunks, g.chunk)
    return _stream("MATVEC", [pack(g.act_fields(), {"a": chunk}) for chunk in x])


# --- test vectors -------------------------------------------------------------------------

def _act_range(g):
    if g.act_signed:
        return -(1 << (g.act_width - 1)), (1 << (g.act_width - 1)) - 1
    return 0, (1 << g.act_width) - 1


def _random_activations(p, rng):
    return _random_activations_shaped(p, rng, (p.geometry.cols,))


def _random_values(p, rng, shape):
    """Weight values of the activation type: for BF16, real MiniLM weights (a random run of
    the shipped slices), Gaussian weights of a random scale, or random patterns with
    specials; integers over their whole range."""
    ep = p.engine_params
    if ep.act_type == "bf16":
        choice = rng.integers(3)
        if choice == 0:
            real = np.concatenate([w.ravel() for w in dfloat.real_weights().values()])
            start = int(rng.integers(0, real.size - np.prod(shape) + 1))
            return dfloat.bf16_of(real[start:start + np.prod(shape)].reshape(shape))
        if choice == 1:
            return dfloat.bf16_of(rng.normal(size=shape) * 10.0 ** rng.uniform(-3, 0))
    return _random_activations_shaped(p, rng, shape)


def _random_activations_shaped(p, rng, shape):
    g = p.geometry
    if g.ternary and g.engine_params.act_type != "int":
        return ternary.random_activations(g.engine_params, rng, shape)
    lo, hi = _act_range(g)
    return rng.integers(lo, hi + 1, shape)


def _random_weights(p, rng, extreme=None):
    """A full matrix load: random weights, or every weight at one ``extreme`` (−1 / +1)."""
    g, ep = p.geometry, p.engine_params
    shape = (g.rows, g.cols)
    if g.value_weights:
        if extreme:
            return load_weights(p, ternary.Arithmetic(ep.act_type).weight_values(
                np.full(shape, extreme)))
        return load_weights(p, _random_values(p, rng, shape))
    if g.ternary:
        return load_weights(p, np.full(shape, extreme) if extreme else rng.integers(-1, 2, shape))
    groups = -(-g.cols // ep.group_size)
    if extreme:
        code, dtype = bitserial.extreme_weight_code(ep, negative=extreme < 0)
        return load_weights(p, np.full(shape, code), scales=np.full((g.rows, groups),
                                                                     (1 << ep.scale_bits) - 1),
                            dtypes=np.full((g.rows, groups), dtype))
    return load_weights(p, rng.integers(0, 1 << ep.weight_bits, shape),
                        scales=rng.integers(0, 1 << ep.scale_bits, (g.rows, groups)),
                        prec=int(rng.integers(2, ep.weight_bits + 1)),
                        dtypes=rng.integers(0, 4, (g.rows, groups)))


def _random_word(p, rng):
    """A weight word of random codes: some invalid ternary codes, some bad precisions."""
    g = p.geometry
    word = {}
    for name, field in g.word_fields().items():
        count = field.get("count")
        width = field.get("elem_width", field["width"])
        values = rng.integers(0, 1 << width, count or 1) - (
            1 << (width - 1) if field["signed"] else 0)
        word[name] = values.tolist() if count else int(values[0])
    return word


def _random_query(p, rng):
    g = p.geometry
    return rng.integers(-(1 << (g.q_bits - 1)), 1 << (g.q_bits - 1), p.kv.group_size)


def _kv_beats(p, rng, count):
    """Beats of ``count`` random events of the Huffman family (good and corrupt blocks and,
    for runtime tables, table loads)."""
    return event_beats(p, huffman.random_events(p.kv, count, rng))


def directed(p):
    """Edge cases: errors before anything is loaded, unknown opcodes, addresses out of
    range, all-zero and extreme weights and activations, a full sequence of the Huffman
    family's directed blocks (corrupt ones included) under an extreme query, invalid weight
    codes, and key-block words interleaved with other commands."""
    g, ep = p.geometry, p.engine_params
    rng = np.random.default_rng(606)
    lo, hi = _act_range(g)
    beats = []
    kv_events = huffman.directed(p.kv)
    kv_blocks = [event.words for event in kv_events if isinstance(event, huffman.Block)]
    beats += matvec(p, np.zeros(g.cols, np.int64))                  # NO_WEIGHTS
    beats += block_beats(p, kv_blocks[:1])                          # NO_QUERY
    for op in sorted(set(range(1 << OP_BITS)) - set(g.ops.values())):  # BAD_OP
        beats.append(command(op, addr=op, data=int(rng.integers(1 << 30)) & _mask(g.data_bits),
                             last=op % 2))
    beats += [command("LOAD_W", g.words, 1, last=1), command("LOAD_W", MAX_INDEX - 1, 1),
              command("LOAD_Q", g.q_words, 1, last=1), command("MATVEC", g.chunks, 1),
              command("MATVEC", MAX_INDEX - 1, 1, last=1)]          # BAD_ADDR
    # Memories start zeroed: a single weight word, the last activation chunk alone, the
    # first query chunk alone.
    beats += load_words(p, [_random_word(p, rng)])
    beats += matvec(p, _random_activations(p, rng))[-1:]
    first_chunk = load_query(p, _random_query(p, rng))[0]
    beats += [dict(first_chunk, last=1)]
    beats += block_beats(p, kv_blocks[:1])
    beats += load_weights(p, np.zeros((g.rows, g.cols), np.int64))
    beats += matvec(p, np.full(g.cols, lo if g.act_signed else hi))   # all-zero weights
    for extreme in (-1, 1):
        beats += _random_weights(p, rng, extreme)
        for value in (lo, hi):
            beats += matvec(p, np.full(g.cols, value))
    beats += matvec(p, np.zeros(g.cols, np.int64))
    beats += _random_weights(p, rng)
    beats += matvec(p, _random_activations(p, rng))
    # Invalid codes: ternary codes that decode to nothing, bit-serial precisions 0 and 1.
    words = [_random_word(p, rng) for _ in range(g.words)]
    if not g.ternary and ep.has_prec:
        for number, word in enumerate(words):
            word["prec"] = number % 2
    beats += load_words(p, words)
    beats += matvec(p, _random_activations(p, rng))
    if g.dfloat is not None:
        # Real weights; a flipped bit in the first word (a mantissa: exact, other values);
        # the final word without `last` (the last block runs to the memory's end: its rows
        # are BAD_WEIGHTS, the other blocks' rows exact).
        real = np.concatenate([w.ravel() for w in dfloat.real_weights().values()])
        image = compressed_words(p, _weight_words_ternary(
            p, dfloat.bf16_of(real[:g.rows * g.cols].reshape(g.rows, g.cols))))
        flipped = dict(image[0], data=image[0]["data"] ^ (1 << int(rng.integers(8))))
        unended = dict(image[-1], last=0)
        for words, addrs in ((image, None), ([flipped], [0]), ([unended], [len(image) - 1])):
            beats += load_words(p, words, addrs) + matvec(p, _random_activations(p, rng))
    # A sequence under extreme queries: the family's directed blocks, corrupt ones included
    # (and its table loads, good and bad, for runtime tables).
    q_lo = -(1 << (p.q_bits - 1))
    beats += load_query(p, np.full(p.kv.group_size, q_lo))
    beats += event_beats(p, kv_events)
    if g.table_entries:
        # Two sets in a row (the first is replaced unused), one cut short, and the
        # configured set again; a block after each.
        configured = kv.table_words(p.kv.format_of(), p.kv.table_set())
        beats += load_tables(p, configured[::-1]) + load_tables(p, configured)
        beats += block_beats(p, kv_blocks[:1])
        beats += load_tables(p, configured[:-1]) + block_beats(p, kv_blocks[:1])
        beats += load_tables(p, configured) + block_beats(p, kv_blocks[:1])
    beats += load_query(p, _random_query(p, rng))
    # An unfinished block interleaved with a matrix-vector product and a new query.
    split = block_beats(p, kv_blocks[1:2])
    beats += split[:-1]
    beats += matvec(p, _random_activations(p, rng))
    beats += load_query(p, _random_query(p, rng))
    beats += split[-1:]
    return beats


def random_commands(p, count, rng):
    """``count`` random commands: loads, products, sequences of key blocks, junk beats."""
    g = p.geometry
    beats = []
    for _ in range(count):
        choice = rng.integers(10)
        if choice == 0:
            beats += _random_weights(p, rng)
        elif choice == 1:
            number = int(rng.integers(1, 4))
            beats += load_words(p, [_random_word(p, rng) for _ in range(number)],
                                rng.integers(0, g.words + 1, number))
        elif choice == 2:
            beats += load_query(p, _random_query(p, rng))
        elif choice in (3, 4, 5):
            beats += _kv_beats(p, rng, int(rng.integers(1, 4)))
        elif choice in (6, 7):
            beats += matvec(p, _random_activations(p, rng))
        else:
            beats.append(command(int(rng.integers(0, 1 << OP_BITS)),
                                 int(rng.integers(0, max(g.words, g.chunks, g.q_words) + 2)),
                                 int(rng.integers(0, 1 << 62)) & _mask(g.data_bits),
                                 last=int(rng.integers(2))))
    return beats


def vectors(p, count, seed):
    """Directed edge cases followed by ``count`` random commands, and the responses."""
    beats = directed(p) + random_commands(p, count, np.random.default_rng(seed))
    return {"inputs": {"i": beats}, "outputs": {"o": run(p, beats)}}
