"""Parameters of the DFloat11-style BF16 decoder (``dfloat_decoder``)."""
import dataclasses

import numpy as np

from hwgen.cores.huffman.params import HuffmanPipelineParams, IntTable
from hwgen.golden import dfloat as df
from hwgen.golden.kvformat import Codebook
from hwgen.params import Int, Nested, ParamValueError, param

__all__ = ["DFloatParams"]


@dataclasses.dataclass(frozen=True)
class DFloatParams(df.DFloatFormat):
    """The block format plus the decoder's word width, output width and codebooks."""
    in_bits: int = param(128, Int(16, 1024),
                         "compressed bits accepted per cycle; divides 8·group_size")
    lanes: int = param(16, Int(1, 256), "BF16 values per output beat; divides group_size")
    codebooks: tuple = param(None, IntTable(),
                             "per codebook, the code length of each of the 256 exponents "
                             "(0: no code); default: learned from the shipped MiniLM slice")
    pipeline: HuffmanPipelineParams = param(HuffmanPipelineParams(),
                                            Nested(HuffmanPipelineParams),
                                            "pipeline registers of the parallel decoder: "
                                            "lookup, resolve, compact_every, assemble (as "
                                            "for the Huffman KV decoder)")

    def check(self):
        super().check()
        if self.byte_bits % self.in_bits:
            raise ParamValueError("in_bits", f"must divide 8·group_size ({self.byte_bits}), "
                                             f"so that the exponent codes start a word, not "
                                             f"{self.in_bits!r}")
        if self.group_size % self.lanes:
            raise ParamValueError("lanes", f"must divide group_size ({self.group_size}), not "
                                           f"{self.lanes!r}")
        if self.pipeline.step:
            raise ParamValueError("pipeline.step", "must be false (this decoder's step is "
                                                   "registered by pipeline.assemble), not True")
        if self.codebooks is not None:
            self._check_codebooks(self.codebooks)

    def _check_codebooks(self, codebooks):
        if len(codebooks) != self.n_books or any(len(row) != df.EXPONENTS for row in codebooks):
            raise ParamValueError("codebooks", f"must be {self.n_books} lists (n_books) of "
                                               f"{df.EXPONENTS} code lengths, not "
                                               f"{len(codebooks)} lists of lengths "
                                               f"{sorted({len(row) for row in codebooks})}")
        for number, row in enumerate(codebooks):
            if any(not 0 <= length <= self.max_code_len for length in row):
                raise ParamValueError("codebooks", f"must have code lengths between 0 and "
                                                   f"max_code_len ({self.max_code_len}), not "
                                                   f"book {number}")
            if sum(1 for length in row if length) > self.n_codes:
                raise ParamValueError("codebooks", f"must code at most n_codes "
                                                   f"({self.n_codes}) exponents per book, not "
                                                   f"book {number}")
            kraft = sum(2.0 ** -length for length in row if length)
            if kraft > 1:
                raise ParamValueError("codebooks", f"must be prefix codes (Kraft sum at most "
                                                   f"1), not book {number} with Kraft sum "
                                                   f"{kraft:g}")

    def derive(self):
        if self.codebooks is not None:
            return {"codebooks": tuple(tuple(int(length) for length in row)
                                       for row in self.codebooks)}
        weights = np.concatenate([df.bf16_of(w).ravel() for w in df.real_weights().values()])
        books = df.learn_codebooks(weights, self.format_of())
        return {"codebooks": tuple(tuple(int(length) for length in book.lengths(df.EXPONENTS))
                                   for book in books.books)}

    @property
    def byte_words(self):
        """Words of a block's sign·mantissa section."""
        return self.byte_bits // self.in_bits

    @property
    def beats_per_block(self):
        return self.group_size // self.lanes

    def codebook_set(self):
        """The configured codebooks as :class:`~hwgen.golden.dfloat.Codebooks`."""
        return df.Codebooks(tuple(Codebook.from_lengths(row, self.max_code_len)
                                  for row in self.codebooks))
