"""Deterministic preprocessing: ingest reads a flagged subgraph (events and edges) into a table,
condense folds it into a timeline of distinct actions, and facts computes the indicators, ranks
and library knowledge the later stages cite. No model is involved."""
