"""The host level: many subgraphs in one run (batch), the attack story over their
reports, a request cache, built-in evaluation, and progress display.

Sits on top of the single-subgraph pipeline and reuses it; nothing here prints except
``progress`` (which draws on stderr only when it is a terminal).
"""
