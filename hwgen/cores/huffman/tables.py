"""Codebook and pattern tables: fixed at generation, or loaded at run time through ``cfg``."""
from amaranth import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.golden.kvformat import Codebook, table_entries, table_words

__all__ = ["cfg_layout", "LookupSignature", "TableStore", "canonical"]


def cfg_layout(p):
    """Payload of ``cfg``: one table entry per beat (see :func:`hwgen.golden.kvformat.table_entries`),
    ``last`` on the final entry of a table set."""
    width = max(entry[3] for entry in table_entries(p))
    return data.StructLayout({"data": unsigned(width), "last": 1})


def _book_layout(p):
    return data.StructLayout({
        "counts": data.ArrayLayout(unsigned(p.sym_bits + 1), p.max_code_len),
        "symbols": data.ArrayLayout(unsigned(p.sym_bits), p.symbols),
    })


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
    * ``busy``/``busy_bank`` (out): a word still to be looked up uses that bank (so it must
      not be overwritten yet).
    * ``bank``, ``book``, ``pattern`` (out) select ``book_tables``, ``centroids`` (in);
      ``book_ok``/``pattern_ok`` (in) say whether the header's book and pattern exist (a
      runtime book that is not a prefix code, or any entry of a malformed set, does not).
    """

    def __init__(self, p):
        super().__init__({
            "start": Out(1), "start_bank": In(1),
            "busy": Out(1), "busy_bank": Out(1),
            "bank": Out(1), "book": Out(p.book_bits), "pattern": Out(max(p.pattern_bits, 1)),
            "book_tables": In(_book_layout(p)),
            "centroids": In(data.ArrayLayout(signed(p.centroid_bits), p.symbols)),
            "book_ok": In(1), "pattern_ok": In(1),
        })


def canonical(counts, max_len):
    """Per length ``l`` = 1..max_len, ``(first, offset, end)`` of a canonical code with
    ``counts``: its first code, the canonical index of that code's symbol, and ``first +
    count`` (codes of length ``l`` are ``first <= code < end``)."""
    first, offset, end = [], [], []
    code, index = Const(0, max_len + 1), Const(0, len(counts[0]) + 1)
    for length in range(max_len):
        count = counts[length]
        first.append(code)
        offset.append(index)
        end.append((code + count)[:max_len + 1])
        code = ((code + count) << 1)[:max_len + 1]
        index = (index + count)[:len(index)]
    return first, offset, end


class TableStore(wiring.Component):
    """Holds the codebooks and patterns and answers lookups.

    ``tables="static"``: constants from the parameters. ``tables="runtime"``: two banks of
    registers, both reset to the configured tables. ``cfg`` writes the bank not in use; the
    set is committed by its ``last`` beat and taken by the next block that starts (``start``),
    so decoding continues while the next tables load. A set whose ``last`` is not on its
    final entry is committed as invalid (every block that uses it has ``err``). While a
    committed set waits for its block, or the bank being written is still ``busy``, ``cfg``
    is not ready.

    Members
    -------
    lookup : ``In(LookupSignature(p))``
    cfg : ``In(stream.Signature(cfg_layout(p)))`` (runtime tables only)

    Latency: lookups are combinational. Throughput: one ``cfg`` beat per cycle.
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
        words = table_words(p, tables)
        bank = {"books": [], "patterns": [[int(c) for c in row] for row in tables.patterns],
                "valid": 1}
        entries = table_entries(p)
        for book in range(p.n_books):
            picked = [word for (kind, number, *_), word in zip(entries, words)
                      if number == book and kind != "centroid"]
            bank["books"].append({"counts": picked[:p.max_code_len],
                                  "symbols": picked[p.max_code_len:]})
        return bank

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

        raw = Codebook.raw(p.sym_bits, p.max_code_len)
        raw_tables = {"counts": list(raw.counts), "symbols": list(raw.symbols)}
        with m.Switch(lookup.book):
            for book in range(p.n_books):
                with m.Case(book):
                    m.d.comb += lookup.book_tables.eq(selected.books[book])
            with m.Default():
                m.d.comb += lookup.book_tables.eq(_book_layout(p).const(raw_tables))
        with m.Switch(lookup.pattern):
            for pattern in range(p.n_patterns):
                with m.Case(pattern):
                    m.d.comb += lookup.centroids.eq(selected.patterns[pattern])
            with m.Default():
                m.d.comb += lookup.centroids.eq(0)  # a missing pattern: pattern_ok is 0

        book_ok = (lookup.book <= p.raw_book) & selected.valid
        if p.runtime:
            # A loaded book must be a prefix code over the symbols: Kraft sum and count.
            counts = lookup.book_tables.counts
            kraft = sum(counts[length] << (p.max_code_len - 1 - length)
                        for length in range(p.max_code_len))
            total = sum(counts[length] for length in range(p.max_code_len))
            prefix_code = (kraft <= (1 << p.max_code_len)) & (total <= p.symbols)
            book_ok &= (lookup.book == p.raw_book) | prefix_code
        m.d.comb += [lookup.book_ok.eq(book_ok),
                     lookup.pattern_ok.eq((lookup.pattern < p.n_patterns) & selected.valid)]
        return m

    def _load(self, m, banks, active, pending):
        """The ``cfg`` side: write the idle bank entry by entry, commit it on ``last``."""
        p = self._p
        lookup = self.lookup
        entries = table_entries(p)
        address = Signal(range(len(entries) + 1))
        shadow_busy = lookup.busy & (lookup.busy_bank != active)
        m.d.comb += self.cfg.ready.eq(~pending & ~shadow_busy)

        with m.If(lookup.start & pending):
            m.d.sync += [active.eq(~active), pending.eq(0)]

        with m.If(self.cfg.valid & self.cfg.ready):
            m.d.sync += address.eq(Mux(self.cfg.p.last, 0,
                                       Mux(address == len(entries), address, address + 1)))
            for number, bank in enumerate(banks):
                with m.If(active != number):
                    self._write(m, bank, address, entries)
            with m.If(self.cfg.p.last):
                m.d.sync += pending.eq(1)

    def _write(self, m, bank, address, entries):
        """Write ``cfg``'s entry into ``bank``; ``last`` also sets whether the set is whole."""
        # One condition per entry (entries past a set's end are dropped; the set is then
        # invalid). Not a `Switch`: its case statement would not cover every address.
        for index, (kind, number, position, width, _) in enumerate(entries):
            if kind == "centroid":
                target = bank.patterns[number][position]
            elif kind == "count":
                target = bank.books[number].counts[position]
            else:
                target = bank.books[number].symbols[position]
            with m.If(address == index):
                m.d.sync += target.eq(self.cfg.p.data[:width])
        with m.If(self.cfg.p.last):
            m.d.sync += bank.valid.eq(address == len(entries) - 1)
