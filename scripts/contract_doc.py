"""Write the delivered-file contract (warehouse.contract.DELIVERED) into docs/canonical-format.md.

Each entity's table sits between `<!-- contract: <entity> -->` and `<!-- /contract -->`; the rest
of the page is prose kept by hand. `--check` only reports whether the page is up to date
(tests/test_contract.py runs it), `python -m scripts.contract_doc` rewrites it.
"""

import argparse
import re
import sys
from pathlib import Path

from policy.paths import PROJECT_ROOT
from warehouse.columns import markdown_table
from warehouse.contract import DELIVERED

DOC = PROJECT_ROOT / "docs" / "canonical-format.md"
_SECTION = re.compile(r"(<!-- contract: (\w+) -->\n).*?(<!-- /contract -->)", re.S)


def rendered(text: str) -> str:
    """`text` with every contract section replaced by the contract's table; each entity once."""
    seen = []

    def table(match: re.Match) -> str:
        entity = match.group(2)
        if entity not in DELIVERED:
            raise ValueError(f"{DOC.name}: no delivered entity {entity!r} in warehouse.contract")
        seen.append(entity)
        return f"{match.group(1)}{markdown_table(DELIVERED[entity])}\n{match.group(3)}"

    out = _SECTION.sub(table, text)
    if sorted(seen) != sorted(DELIVERED):
        raise ValueError(f"{DOC.name} needs one contract section per entity: has {seen},"
                         f" the contract {list(DELIVERED)}")
    return out


def main(doc: Path = DOC) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args()
    text = doc.read_text(encoding="utf-8")
    new = rendered(text)
    if args.check:
        if new != text:
            print(f"{doc}: out of date with warehouse.contract; run python -m scripts.contract_doc")
            return 1
        return 0
    doc.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
