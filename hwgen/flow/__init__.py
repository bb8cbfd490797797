"""The flow: Verilog + manifest, simulation, synthesis, place and route.

Flow code knows nothing about families: it reads the config, the component's signature and
the manifest, never a kind's internals.
"""
