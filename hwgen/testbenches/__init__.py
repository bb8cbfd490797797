"""cocotb testbenches run by :mod:`hwgen.flow.sim` on the emitted Verilog.

``stream_tb`` checks any design whose behaviour is a stream of golden vectors; ``uart_tb``
drives a board wrapper through its UART host link. They ship with the package so that
``hwgen sim`` works from any installation, not only from a source checkout.
"""
