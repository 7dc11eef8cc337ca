"""Catalog maintenance used by `./dev translations` and by the translation test.

msgids are English, so the English catalog's translation of every entry is its msgid.
"""

import sys

from babel.messages.pofile import read_po, write_po


def fill_english(path: str) -> int:
    with open(path, "rb") as handle:
        catalog = read_po(handle)
    filled = 0
    for message in catalog:
        if message.id and not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    with open(path, "wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, ignore_obsolete=True)
    return filled


if __name__ == "__main__":  # pragma: no cover - command line
    command, path = sys.argv[1:3]
    if command == "fill-english":
        print(f"{fill_english(path)} English entries filled")
