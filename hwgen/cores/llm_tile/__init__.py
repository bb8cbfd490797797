"""The ``llm_tile`` top: a matrix-vector engine from the ternary or bit-serial family with
on-chip weight memory, and an attention-score unit (Huffman KV decoder, then q·k), driven
by one command stream."""
from hwgen.cores.llm_tile.params import LlmTileParams
from hwgen.cores.llm_tile.tile import LlmTile
from hwgen.golden import llm_tile as golden
from hwgen.registry import Kind

__all__ = ["LlmTile", "LlmTileParams", "KINDS"]

KINDS = [
    Kind(name="llm_tile",
         description="LLM decode tile: W·x on a ternary or bit-serial engine with weight "
                     "memory, and q·k over Huffman-compressed key blocks, on one command "
                     "stream",
         params=LlmTileParams, build=LlmTile, vectors=golden.vectors),
]
