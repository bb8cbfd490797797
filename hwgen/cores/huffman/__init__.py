"""Huffman KV-cache decoder family (after Ecco): a parallel speculative decoder that takes a
whole input word per cycle, and its bit-serial baseline. The block format and its encoder are
in :mod:`hwgen.golden.kvformat`."""
from hwgen.cores.huffman.decoder import HuffmanKVDecoder, HuffmanSerialDecoder
from hwgen.cores.huffman.params import HuffmanParams
from hwgen.golden import huffman as golden
from hwgen.registry import Kind

__all__ = ["HuffmanKVDecoder", "HuffmanSerialDecoder", "HuffmanParams", "KINDS"]

KINDS = [
    Kind(name="huffman_kv_decoder",
         description="canonical Huffman KV-cache blocks to dequantized values, in_bits per "
                     "cycle by speculative decoding at every bit position",
         params=HuffmanParams, build=HuffmanKVDecoder, vectors=golden.vectors),
    Kind(name="huffman_serial_decoder",
         description="bit-serial baseline of huffman_kv_decoder: same format and streams, "
                     "one compressed bit per cycle",
         params=HuffmanParams, build=HuffmanSerialDecoder, vectors=golden.vectors),
]
