"""DFloat11-style lossless BF16 weight decoder. The block format, its encoder and the
reference decoder are in :mod:`hwgen.golden.dfloat`."""
from hwgen.cores.dfloat.decoder import DFloatDecoder, DFloatSerialDecoder
from hwgen.cores.dfloat.params import DFloatParams
from hwgen.golden import dfloat as golden
from hwgen.registry import Kind

__all__ = ["DFloatDecoder", "DFloatSerialDecoder", "DFloatParams", "KINDS"]

KINDS = [
    Kind(name="dfloat_decoder",
         description="lossless BF16 blocks (Huffman-coded exponents, raw sign and mantissa) "
                     "to BF16 values, in_bits compressed bits per cycle",
         params=DFloatParams, build=DFloatDecoder, vectors=golden.vectors),
    Kind(name="dfloat_serial_decoder",
         description="serial baseline of dfloat_decoder: same format and streams, one "
                     "exponent codeword per cycle",
         params=DFloatParams, build=DFloatSerialDecoder, vectors=golden.vectors),
]
