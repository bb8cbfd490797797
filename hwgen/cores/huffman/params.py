"""Parameters of the Huffman KV decoders (``huffman_kv_decoder``, ``huffman_serial_decoder``)."""
import dataclasses
import pathlib

import numpy as np

from hwgen.golden.kvformat import BlockFormat, Codebook, Tables, default_tables
from hwgen.params import (Bool, Choice, Int, Nested, Params, ParamTypeError, ParamValueError,
                          Rule, param, shown)

__all__ = ["HuffmanPipelineParams", "HuffmanParams", "IntTable", "FilePath"]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class IntTable(Rule):
    """A list of rows, each a list of integers (a table written inline in YAML)."""

    def describe(self):
        return "a list of lists of integers"

    @staticmethod
    def _fits(value):
        return isinstance(value, (list, tuple)) and all(
            isinstance(row, (list, tuple)) and all(_is_int(item) for item in row)
            for row in value)

    def coerce(self, name, value):
        return tuple(tuple(row) for row in value) if self._fits(value) else value

    def check(self, name, value):
        if not self._fits(value):
            raise ParamTypeError(name, f"must be {self.describe()}, not {shown(value)}")


class FilePath(Rule):
    """A path to an existing file, or nothing (``None``)."""

    def __init__(self, suffix):
        self.suffix = suffix

    def describe(self):
        return f"the path of an existing {self.suffix} file"

    def check(self, name, value):
        if value is None:
            return
        if not isinstance(value, str):
            raise ParamTypeError(name, f"must be {self.describe()}, not {shown(value)}")
        if not value.endswith(self.suffix) or not pathlib.Path(value).is_file():
            raise ParamValueError(name, f"must be {self.describe()}, not {shown(value)}")


def _read_table_file(path):
    try:
        with np.load(path) as archive:
            return archive["codebooks"].tolist(), archive["patterns"].tolist()
    except (KeyError, ValueError, OSError):
        raise ParamValueError("table_file", f"must be an .npz file with integer arrays "
                                            f"'codebooks' and 'patterns', not {path!r}") from None


@dataclasses.dataclass(frozen=True)
class HuffmanPipelineParams(Params):
    """Where the parallel decoder has registers; each adds one cycle of latency and none
    changes the throughput (one word per cycle). The serial decoder ignores them."""
    lookup: bool = param(False, Bool(), "register the codeword lookups before the segment "
                                        "walks")
    compare: bool = param(False, Bool(), "register the comparisons of the codeword lookups "
                                         "(the windows against the ends of the codes), "
                                         "splitting the lookup stage in two")
    resolve: int = param(0, Int(0, 32), "register the segment-state resolution after every "
                                        "this many of its levels (0: never)")
    compact_every: int = param(0, Int(0, 16), "register the compaction tree after every this "
                                              "many of its levels (0: never)")
    step: bool = param(False, Bool(), "register the step (the block's count so far, where "
                                      "the step's indices go, whether the block is dead) "
                                      "before the block assembler")
    assemble: bool = param(False, Bool(), "register each packed step before the block "
                                          "assembler places it")


@dataclasses.dataclass(frozen=True)
class HuffmanParams(BlockFormat):
    """The block format plus the decoder's word width and where its tables come from."""
    in_bits: int = param(32, Int(8, 512),
                         "compressed bits accepted per cycle; divides block_bits")
    tables: str = param("static", Choice("static", "runtime"),
                        "static: codebooks and patterns fixed at generation; runtime: loaded "
                        "through the cfg stream (double-buffered, starting from the "
                        "configured ones)")
    codebooks: tuple = param(None, IntTable(),
                             "per codebook, the code length of every symbol (0: no code); "
                             "default: table_file, else built-in geometric codebooks")
    patterns: tuple = param(None, IntTable(),
                            "per pattern, its 2**sym_bits signed centroids; default: "
                            "table_file, else built-in patterns")
    table_file: str = param(None, FilePath(".npz"),
                            "an .npz with arrays 'codebooks' and 'patterns' (as above)")
    segment_bits: int = param(8, Int(2, 16),
                              "bits per segment of the parallel decoder: each segment is looked "
                              "up and walked from every entry state by units of its own (a "
                              "walk is one logic level per bit)")
    pipeline: HuffmanPipelineParams = param(HuffmanPipelineParams(),
                                            Nested(HuffmanPipelineParams),
                                            "pipeline registers of the parallel decoder: "
                                            "compare, lookup, resolve, compact_every, step, "
                                            "assemble")

    def check(self):
        super().check()
        if self.block_bits % self.in_bits:
            raise ParamValueError("in_bits", f"must divide block_bits ({self.block_bits}), "
                                             f"not {self.in_bits!r}")
        if self.group_size * self.in_bits % self.block_bits:
            raise ParamValueError("in_bits", f"must make group_size·in_bits a multiple of "
                                             f"block_bits ({self.block_bits}) so that every "
                                             f"output beat has the same number of values, "
                                             f"not {self.in_bits!r}")
        if self.max_code_len > self.in_bits + 1:
            raise ParamValueError("max_code_len", f"must be at most in_bits + 1 "
                                                  f"({self.in_bits + 1}), not "
                                                  f"{self.max_code_len!r}")
        if self.table_file is not None and (self.codebooks is not None
                                            or self.patterns is not None):
            raise ParamValueError("table_file", f"must not be given together with codebooks "
                                                f"or patterns, not {self.table_file!r}")
        codebooks, patterns = self._given_tables()
        if codebooks is not None:
            self._check_codebooks(codebooks)
        if patterns is not None:
            self._check_patterns(patterns)

    def _given_tables(self):
        if self.table_file is not None:
            return _read_table_file(self.table_file)
        return self.codebooks, self.patterns

    def _check_codebooks(self, codebooks):
        if len(codebooks) != self.n_books or any(len(row) != self.symbols for row in codebooks):
            raise ParamValueError("codebooks", f"must be {self.n_books} lists (n_books) of "
                                               f"{self.symbols} code lengths (2**sym_bits), "
                                               f"not {_shape(codebooks)}")
        for number, row in enumerate(codebooks):
            if any(not 0 <= length <= self.max_code_len for length in row):
                raise ParamValueError("codebooks", f"must have code lengths between 0 and "
                                                   f"max_code_len ({self.max_code_len}), not "
                                                   f"{shown(list(row))} (book {number})")
            kraft = sum(2.0 ** -length for length in row if length)
            if kraft > 1:
                raise ParamValueError("codebooks", f"must be prefix codes (Kraft sum at most "
                                                   f"1), not book {number} with Kraft sum "
                                                   f"{kraft:g}")

    def _check_patterns(self, patterns):
        if len(patterns) != self.n_patterns or any(len(row) != self.symbols
                                                   for row in patterns):
            raise ParamValueError("patterns", f"must be {self.n_patterns} lists (n_patterns) "
                                              f"of {self.symbols} centroids (2**sym_bits), "
                                              f"not {_shape(patterns)}")
        low, high = -(1 << (self.centroid_bits - 1)), (1 << (self.centroid_bits - 1)) - 1
        for row in patterns:
            if any(not low <= centroid <= high for centroid in row):
                raise ParamValueError("patterns", f"must have centroids between {low} and "
                                                  f"{high} (centroid_bits), not {shown(list(row))}")

    def derive(self):
        codebooks, patterns = self._given_tables()
        defaults = default_tables(self.format_of())
        if codebooks is None:
            codebooks = defaults.lengths(self)
        if patterns is None:
            patterns = defaults.patterns
        return {"codebooks": tuple(tuple(int(length) for length in row) for row in codebooks),
                "patterns": tuple(tuple(int(centroid) for centroid in row) for row in patterns)}

    @property
    def words_per_block(self):
        return self.block_bits // self.in_bits

    @property
    def lanes(self):
        """Values per output beat: ``group_size · in_bits / block_bits``."""
        return self.group_size * self.in_bits // self.block_bits

    @property
    def value_bits(self):
        """Width of a signed dequantized value ``centroid · scale``."""
        return self.centroid_bits + self.scale_bits

    @property
    def runtime(self):
        return self.tables == "runtime"

    def table_set(self):
        """The configured tables as a :class:`~hwgen.golden.kvformat.Tables`."""
        return Tables(tuple(Codebook.from_lengths(row, self.max_code_len)
                            for row in self.codebooks),
                      np.array(self.patterns, dtype=np.int64))


def _shape(rows):
    return f"{len(rows)} lists of lengths {sorted({len(row) for row in rows})}"
