"""Parameters of the ``llm_tile`` top: a matrix-vector engine with weight memory and an
attention-score unit behind one command stream."""
import dataclasses

from hwgen.cores.bitserial.params import BitParallelParams, BitSerialParams
from hwgen.cores.dfloat.params import DFloatParams
from hwgen.cores.huffman.params import HuffmanParams
from hwgen.cores.ternary.params import AddSubParams, LutParams, MacParams
from hwgen.golden import llm_tile as golden
from hwgen.params import (Bool, Choice, Int, Nested, Optional, Params, ParamError,
                          ParamTypeError, ParamValueError, Rule, param, shown)

__all__ = ["ENGINE_PARAMS", "EngineParams", "TilePipelineParams", "LlmTileParams"]

#: The parameter class of each matrix-vector engine (the family's own).
ENGINE_PARAMS = {
    "ternary_lut": LutParams,
    "ternary_addsub": AddSubParams,
    "ternary_mac": MacParams,
    "bitserial": BitSerialParams,
    "bitparallel": BitParallelParams,
}


class EngineParams(Rule):
    """The parameter set of one of the engines; which one ``engine`` decides (see
    :meth:`LlmTileParams.from_mapping` and :meth:`LlmTileParams.check`)."""

    def describe(self):
        names = ", ".join(f"{cls.__name__} ({engine})" for engine, cls in ENGINE_PARAMS.items())
        return f"a mapping of the engine's parameters: {names}"

    def check(self, name, value):
        if type(value) not in ENGINE_PARAMS.values():
            raise ParamTypeError(name, f"must be {self.describe()}, not {shown(value)}")


@dataclasses.dataclass(frozen=True)
class TilePipelineParams(Params):
    """Registers of the tile's own datapaths (the engine's and the decoder's are set in
    ``engine_params.pipeline`` and ``kv.pipeline``); each adds one cycle of latency."""
    fetch: bool = param(False, Bool(), "register the weight and activation words read from "
                                       "memory before the engine")
    score: bool = param(False, Bool(), "register the score unit's products before their "
                                       "adder tree")


@dataclasses.dataclass(frozen=True)
class LlmTileParams(Params):
    engine: str = param("ternary_lut", Choice(*ENGINE_PARAMS),
                        "matrix-vector engine: a ternary family core or a bit-serial family "
                        "dot product")
    engine_params: Params = param(None, EngineParams(),
                                  "the engine family's parameters (validated by its own "
                                  "parameter class); default: that class's defaults")
    rows: int = param(16, Int(1, golden.MAX_INDEX),
                      "weight matrix rows (results per matrix-vector product); a multiple "
                      "of the ternary engines' lanes")
    cols: int = param(48, Int(1, golden.MAX_INDEX),
                      "weight matrix columns (activation vector length); a multiple of the "
                      "activations per engine beat")
    kv: HuffmanParams = param(HuffmanParams(), Nested(HuffmanParams),
                              "the Huffman KV block format, decoder word width and tables "
                              "(runtime tables are loaded with LOAD_T); one block holds one "
                              "key vector of group_size values")
    kv_decoder: str = param("parallel", Choice("parallel", "serial"),
                            "KV decoder: the parallel speculative one (a word per cycle) or "
                            "the bit-serial baseline (a bit per cycle)")
    q_bits: int = param(8, Int(2, 16), "width of a signed query element")
    pipeline: TilePipelineParams = param(TilePipelineParams(), Nested(TilePipelineParams),
                                         "pipeline registers of the tile: fetch, score")
    dfloat: DFloatParams = param(None, Optional(Nested(DFloatParams)),
                                 "DFloat11 weights: the weight memory holds compressed blocks "
                                 "of the BF16 weights, decoded on the way to the engine "
                                 "(engine ternary_mac with weight_format bf16; lanes = "
                                 "weights per engine beat); null: engine words as they are")
    weight_words: int = param(None, Optional(Int(1, golden.MAX_INDEX), derived=True),
                              "weight memory depth with dfloat weights, in compressed words; "
                              "default: every block raw (the worst case)")

    def unused(self):
        if self.dfloat is None:
            return {"weight_words": "applies only with dfloat weights"}
        return {}

    @classmethod
    def from_mapping(cls, mapping, *, kind=None):
        """As :meth:`Params.from_mapping`; ``engine_params`` is read with the parameter class
        of the ``engine`` it names, so its errors read ``engine_params.lanes: …``."""
        mapping = dict(mapping)
        engine = mapping.get("engine")
        if engine is None:
            engine = cls.field("engine").default
        given = mapping.get("engine_params")
        if isinstance(given, dict) and isinstance(engine, str) and engine in ENGINE_PARAMS:
            try:
                mapping["engine_params"] = ENGINE_PARAMS[engine].from_mapping(given)
            except ParamError as error:
                raise error.within("engine_params") from None
        return super().from_mapping(mapping, kind=kind)

    def check(self):
        if self.engine_params is not None and type(self.engine_params) is not \
                ENGINE_PARAMS[self.engine]:
            raise ParamTypeError("engine_params", f"must be a "
                                                  f"{ENGINE_PARAMS[self.engine].__name__} for "
                                                  f"engine {self.engine!r}, not "
                                                  f"{shown(self.engine_params)}")
        engine_params = self.engine_params or ENGINE_PARAMS[self.engine]()
        if getattr(engine_params, "planes", False):
            raise ParamValueError("engine_params.weight_stream",
                                  "must be 'codes' in an llm_tile (its weight memory holds "
                                  "whole codes), not 'planes'")
        shape = golden.Geometry(self.engine, engine_params, self.rows, self.cols, self.kv,
                                self.q_bits, self.dfloat, self.weight_words or 1)
        if self.cols % shape.chunk:
            raise ParamValueError("cols", f"must be a multiple of the activations per engine "
                                          f"beat ({shape.chunk}), not {self.cols!r}")
        if self.rows % shape.rows_per_dot:
            raise ParamValueError("rows", f"must be a multiple of engine_params.lanes "
                                          f"({shape.rows_per_dot}), not {self.rows!r}")
        if self.dfloat is not None:
            self._check_dfloat(shape)
            shape = dataclasses.replace(shape, weight_words=self._weight_words(shape))
        elif shape.words > golden.MAX_INDEX:
            raise ParamValueError("rows", f"must keep the weight memory at most "
                                          f"{golden.MAX_INDEX} words (rows·cols/"
                                          f"{shape.rows_per_dot * shape.chunk}), not "
                                          f"{self.rows!r}")
        widths = {"engine_params": shape.act_chunk_bits if self.dfloat else
                  max(shape.word_bits, shape.act_chunk_bits),
                  "kv": max(shape.q_chunk_bits, self.kv.in_bits)}
        if self.dfloat is not None:
            widths["dfloat"] = shape.word_bits
        if shape.command_bits > golden.MAX_COMMAND_BITS:
            name = max(widths, key=widths.get)
            raise ParamValueError(name, f"must keep a command beat at most "
                                        f"{golden.MAX_COMMAND_BITS} bits wide (its data "
                                        f"field needs {widths[name]} bits), not "
                                        f"{getattr(self, name)!r}")

    def _check_dfloat(self, shape):
        ep = shape.engine_params
        if self.engine != "ternary_mac" or ep.weight_format != "bf16":
            raise ParamValueError("dfloat", f"needs engine 'ternary_mac' with weight_format "
                                            f"'bf16' (BF16 weight values), not engine "
                                            f"{self.engine!r} with weight_format "
                                            f"{ep.weight_format!r}")
        if self.dfloat.lanes != shape.weights_per_beat:
            raise ParamValueError("dfloat.lanes", f"must be the weights of one engine beat "
                                                  f"(lanes·n_tables·mu = "
                                                  f"{shape.weights_per_beat}), not "
                                                  f"{self.dfloat.lanes!r}")
        if self.rows * self.cols % self.dfloat.group_size:
            raise ParamValueError("dfloat.group_size", f"must divide rows·cols "
                                                       f"({self.rows * self.cols}), not "
                                                       f"{self.dfloat.group_size!r}")
        if self._weight_words(shape) > golden.MAX_INDEX:
            raise ParamValueError("weight_words", f"must be at most {golden.MAX_INDEX} (the "
                                                  f"default: {shape.blocks} raw blocks of "
                                                  f"{shape.raw_block_words} words), not "
                                                  f"{self._weight_words(shape)!r}")

    def _weight_words(self, shape):
        return self.weight_words or shape.blocks * shape.raw_block_words

    def derive(self):
        derived = {"engine_params": ENGINE_PARAMS[self.engine]()}
        if self.dfloat is not None and self.weight_words is None:
            engine_params = self.engine_params or derived["engine_params"]
            derived["weight_words"] = self._weight_words(golden.Geometry(
                self.engine, engine_params, self.rows, self.cols, self.kv, self.q_bits,
                self.dfloat))
        return derived

    @property
    def geometry(self):
        """Sizes of memories and payloads (:class:`hwgen.golden.llm_tile.Geometry`)."""
        return golden.Geometry(self.engine, self.engine_params, self.rows, self.cols, self.kv,
                               self.q_bits, self.dfloat, self.weight_words)
