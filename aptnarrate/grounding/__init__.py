"""Grounding: check every claim of a validated narration against the input (the entities it
mentions, the events a stage claim cites and whether they can support it) and prune or flag what
the evidence does not back."""
