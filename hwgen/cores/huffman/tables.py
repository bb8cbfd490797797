"""Codebook and pattern tables: fixed at generation, or loaded at run time through ``cfg``."""
from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.cores.huffman.speculative import code_tables, code_tables_layout
from hwgen.golden.kvformat import table_entries

__all__ = ["cfg_layout", "LookupSignature", "TableStore", "book_tables"]


def cfg_layout(p):
    """Payload of ``cfg``: one table entry per beat (see
    :func:`hwgen.golden.kvformat.table_entries`), ``last`` on the final entry of a set."""
    width = max(entry[3] for entry in table_entries(p))
    return data.StructLayout({"data": unsigned(width), "last": 1})


def _book_layout(p):
    return data.StructLayout({"code": code_tables_layout(p.sym_bits, p.max_code_len),
                              "prefix_code": 1})


def _bank_layout(p):
    return data.StructLayout({
        "books": data.ArrayLayout(_book_layout(p), p.n_books),
        "patterns": data.ArrayLayout(data.ArrayLayout(signed(p.centroid_bits), p.symbols),
                                     p.n_patterns),
        "valid": 1,
    })


class LookupSignature(wiring.Signature):
    """What a decoder core asks of the table store, seen from the core.

    * ``start`` (out): the first word of a block is accepted this cycle; ``start_bank`` (in)
      is the bank that block uses for all its lookups.
    * ``in_use`` (out): bit ``b`` set while a word still to be looked up uses bank ``b`` (so
      that bank must not be overwritten yet).
    * ``bank``, ``book``, ``pattern`` (out) select ``code`` (the book's
      :func:`~hwgen.cores.huffman.speculative.code_tables_layout`) and ``centroids`` (in);
      ``book_ok``/``pattern_ok`` (in) say whether the header's book and pattern exist (a
      runtime book that is not a prefix code, or any entry of a malformed set, does not).
    """

    def __init__(self, p):
        super().__init__({
            "start": Out(1), "start_bank": In(1), "in_use": Out(2),
            "bank": Out(1), "book": Out(p.book_bits), "pattern": Out(max(p.pattern_bits, 1)),
            "code": In(code_tables_layout(p.sym_bits, p.max_code_len)),
            "centroids": In(data.ArrayLayout(signed(p.centroid_bits), p.symbols)),
            "book_ok": In(1), "pattern_ok": In(1),
        })


def book_tables(p, tables):
    """The code tables of every book of ``tables`` and of raw (last), as constants."""
    return [code_tables(tables.book(p, book), p.sym_bits)[0] for book in range(p.raw_book + 1)]


class TableStore(wiring.Component):
    """Holds the codebooks and patterns and answers lookups.

    ``tables="static"``: constants from the parameters. ``tables="runtime"``: two banks of
    registers, both reset to the configured tables. ``cfg`` writes the bank not in use; the
    set is committed by its ``last`` beat and taken by the next block that starts (``start``),
    so decoding continues while the next tables load. A set whose ``last`` is not on its
    final entry is committed as invalid (every block that uses it has ``err``). A load that
    begins while a committed set waits for its first block replaces that set. ``cfg`` is not
    ready while the bank to be written is still ``in_use``, nor in the cycle a block takes
    the committed set.

    Members
    -------
    lookup : ``In(LookupSignature(p))``
    cfg : ``In(stream.Signature(cfg_layout(p)))`` (runtime tables only)

    Latency: lookups are combinational; an accepted ``cfg`` entry is written into its bank
    in the next cycle. Throughput: one ``cfg`` beat per cycle.
    """

    def __init__(self, params):
        self._p = params
        members = {"lookup": In(LookupSignature(params))}
        if params.runtime:
            members["cfg"] = In(stream.Signature(cfg_layout(params)))
        super().__init__(members)

    def _configured(self):
        """The configured tables as a constant bank."""
        p = self._p
        tables = p.table_set()
        books = []
        for book in tables.codebooks:
            code, prefix_code = code_tables(book, p.sym_bits)
            books.append({"code": code, "prefix_code": int(prefix_code)})
        return {"books": books, "patterns": [[int(c) for c in row] for row in tables.patterns],
                "valid": 1}

    def elaborate(self, platform):
        m = Module()
        p = self._p
        lookup = self.lookup
        selected = Signal(_bank_layout(p))
        if p.runtime:
            banks = [Signal(_bank_layout(p), init=self._configured(), name=f"bank{index}")
                     for index in range(2)]
            active = Signal()
            pending = Signal()
            self._load(m, banks, active, pending)
            m.d.comb += [lookup.start_bank.eq(active ^ pending),
                         selected.eq(Mux(lookup.bank, banks[1], banks[0]))]
        else:
            m.d.comb += selected.eq(_bank_layout(p).const(self._configured()))

        raw = code_tables_layout(p.sym_bits, p.max_code_len).const(
            book_tables(p, p.table_set())[p.raw_book])
        prefix_code = Signal()
        with m.Switch(lookup.book):
            for book in range(p.n_books):
                with m.Case(book):
                    m.d.comb += [lookup.code.eq(selected.books[book].code),
                                 prefix_code.eq(selected.books[book].prefix_code)]
            with m.Default():
                m.d.comb += [lookup.code.eq(raw), prefix_code.eq(1)]
        with m.Switch(lookup.pattern):
            for pattern in range(p.n_patterns):
                with m.Case(pattern):
                    m.d.comb += lookup.centroids.eq(selected.patterns[pattern])
            with m.Default():
                m.d.comb += lookup.centroids.eq(0)  # a missing pattern: pattern_ok is 0

        m.d.comb += [lookup.book_ok.eq((lookup.book <= p.raw_book) & selected.valid
                                       & prefix_code),
                     lookup.pattern_ok.eq((lookup.pattern < p.n_patterns) & selected.valid)]
        return m

    def _load(self, m, banks, active, pending):
        """The ``cfg`` side: write the idle bank entry by entry, commit it on ``last``."""
        p = self._p
        lookup = self.lookup
        entries = table_entries(p)
        address = Signal(range(len(entries) + 1))
        # The idle bank is written while no word still to be looked up uses it; a committed
        # set that no block has taken yet is overwritten by the next load (never in the
        # cycle a block takes it).
        switch = lookup.start & pending
        m.d.comb += self.cfg.ready.eq(~lookup.in_use.bit_select(~active, 1) & ~switch)

        with m.If(switch):
            m.d.sync += [active.eq(~active), pending.eq(0)]

        # An accepted entry is written in the next cycle, from a register, so that the banks'
        # write enables do not hang on `cfg.ready` (and through it on the decoder's stall).
        # The delay is safe: the bank written is not used by any word in the decoder nor by
        # a block that starts in the cycle of the write (a set's final entry is written
        # before a block that takes it looks it up, which is no earlier than the cycle after
        # its first word is accepted).
        entry = Signal(cfg_layout(p))
        entry_valid = Signal()
        m.d.sync += entry_valid.eq(self.cfg.valid & self.cfg.ready)
        with m.If(self.cfg.valid & self.cfg.ready):
            m.d.sync += [entry.eq(self.cfg.p), pending.eq(self.cfg.p.last)]
        with m.If(entry_valid):
            m.d.sync += address.eq(Mux(entry.last, 0,
                                       Mux(address == len(entries), address, address + 1)))
            for number, bank in enumerate(banks):
                with m.If(active != number):
                    self._write(m, bank, address, entries, entry)

    def _write(self, m, bank, address, entries, entry):
        """Write ``entry`` (a ``cfg`` beat) into ``bank``; ``last`` also sets whether the set is
        whole.

        A book's code tables are built while its counts arrive, shortest length first: the
        canonical code and rank so far are kept in two registers, so each count costs one
        add (no adder chain over all lengths)."""
        p = self._p
        longest, w = p.max_code_len, p.sym_bits
        code = Signal(longest + w + 3)
        rank = Signal(w + longest.bit_length() + 2)
        value = entry.data
        # One condition per entry (entries past a set's end are dropped; the set is then
        # invalid). Not a `Switch`: its case statement would not cover every address.
        for index, (kind, number, position, width, _) in enumerate(entries):
            with m.If(address == index):
                count = value[:width]
                if kind == "centroid":
                    m.d.sync += bank.patterns[number][position].eq(count)
                elif kind == "symbol":
                    m.d.sync += bank.books[number].code.symbols[position].eq(count)
                else:
                    book = bank.books[number]
                    code_now = code if position else Const(0, len(code))
                    rank_now = rank if position else Const(0, len(rank))
                    end = code_now + count
                    limit = end << (longest - 1 - position)
                    m.d.sync += [
                        book.code.limits[position].eq(Mux(limit > (1 << longest),
                                                          1 << longest, limit)),
                        book.code.deltas[position].eq((rank_now - code_now)[:w]),
                        code.eq(end << 1),
                        rank.eq(rank_now + count),
                    ]
                    if position == longest - 1:
                        m.d.sync += book.prefix_code.eq((end <= 1 << longest)
                                                        & (rank_now + count <= 1 << w))
        with m.If(entry.last):
            m.d.sync += bank.valid.eq(address == len(entries) - 1)
