"""``python -m aptnarrate.data``: write ``parsed_yaml.json`` again after editing a built-in
YAML file; ``--check``: exit 1, naming the files, when it is stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import PARSED_YAML, REGENERATE, build_parsed, encode_parsed, stale_entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__)
    parser.add_argument("--check", action="store_true", help="only say whether parsed_yaml.json matches the YAML files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_entries()
        if stale:
            print(f"aptnarrate/data/{PARSED_YAML} is stale for: {', '.join(stale)}; run: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    target = Path(__file__).resolve().parent / PARSED_YAML  # the source tree's folder, not an installed copy's
    text = encode_parsed(build_parsed())
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
