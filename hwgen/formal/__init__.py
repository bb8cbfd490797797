"""Formal proofs of generated hardware with SymbiYosys (``hwgen prove``).

:mod:`.properties` states the stream rules and packet accounting, :mod:`.harness` wraps a
design with them (or runs it in lockstep with a reference), :mod:`.families` knows what each
kind is equivalent to, :mod:`.sby` writes and runs the jobs, :mod:`.trace` turns a
counterexample into the design's inputs per cycle and :mod:`.replay` runs them in cocotb.
:func:`.prove.prove` ties them together. See docs/formal.md.
"""
