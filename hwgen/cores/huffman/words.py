"""Block framing shared by both decoder cores: which word of which block, and its header."""
from amaranth import Cat, Mux, Signal, unsigned
from amaranth.lib import data

__all__ = ["held_layout", "number_word", "take_word", "header_fields", "header_now"]


def held_layout(p):
    """A word waiting in a core: its bits, its index in the block (``words_per_block`` for
    every word past the block's end), ``last``, and the table bank of its block."""
    return data.StructLayout({
        "data": unsigned(p.in_bits),
        "index": unsigned((p.words_per_block).bit_length()),
        "last": 1,
        "bank": 1,
    })


def number_word(m, p, word, accept, lookup):
    """The input payload ``word`` as a :func:`held_layout` value: its index in the block and
    the bank of its block, counted over the words accepted (``accept``).

    Blocks are delimited by ``last`` alone: a block's first word is the one after a ``last``.
    That word asks the table store for the bank of the block (``lookup.start``).
    """
    words = p.words_per_block
    index = Signal(range(words + 1))
    bank = Signal()
    starting = index == 0
    numbered = Signal(held_layout(p))
    m.d.comb += [lookup.start.eq(accept & starting),
                 numbered.data.eq(word.data), numbered.last.eq(word.last),
                 numbered.index.eq(index),
                 numbered.bank.eq(Mux(starting, lookup.start_bank, bank))]
    with m.If(accept):
        m.d.sync += [bank.eq(numbered.bank),
                     index.eq(Mux(word.last, 0, Mux(index == words, words, index + 1)))]
    return numbered


def take_word(m, p, word, accept, lookup, held):
    """Load ``held`` from the input payload ``word`` when ``accept`` (see
    :func:`number_word`)."""
    numbered = number_word(m, p, word, accept, lookup)
    with m.If(accept):
        m.d.sync += held.eq(numbered)


def header_fields(p, header):
    """``(book, pattern, scale)`` of a header value (first header bit in the MSB)."""
    top = p.header_bits
    book = header[top - p.book_bits:top]
    pattern = header[top - p.book_bits - p.pattern_bits:top - p.book_bits]
    return book, pattern, header[:p.scale_bits]


def header_now(m, p, held, header):
    """The block's header as far as it is known once ``held`` is taken into account: header
    bits in the held word come from it, earlier ones from the ``header`` register."""
    width, top = p.in_bits, p.header_bits
    parts = []
    for number in reversed(range((top - 1) // width + 1)):
        low, high = number * width, min((number + 1) * width, top)
        parts.append(Mux(held.index == number, held.data[width - (high - low):width],
                         header[top - high:top - low]))
    current = Signal(top, name="header_now")
    m.d.comb += current.eq(Cat(*parts))
    return current
