"""Board support: the UART, the framed host protocol, the host bridge that puts any top (one
input stream ``i``, one output stream ``o``) behind them, and board definitions."""
