"""Rules as data and code: the event vocabulary, dataset profiles, pattern rules (YAML) and
the structural rules that need code (sweeps, beacons, sequences)."""
