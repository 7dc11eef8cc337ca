"""Bandit, the Python security linter, over the installed packages (issue 7: security).

Every finding is fixed, or marked where it is with `# nosec BXXX - why it is safe`: a bare
`# nosec` (no test id, or no reason) fails here too. Tests are not scanned (their asserts and
made-up passwords are the point of them).
"""

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("bandit", reason="bandit is not installed (pip install 'bandit>=1.8')")

PACKAGES = ["resident_portal", "survey", "contributions"]

# Findings in files this change could not touch, until the `# nosec` line is added there:
# (path, test id) -> the reason to write. The test fails once one of them is gone, so that the
# entry is removed too.
AWAITING_NOSEC: dict = {}  # findings waiting for their justification in the code
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)")
JUSTIFIED = re.compile(r"^:?\s*B\d{3}(?:[ ,]+B\d{3})*\s+-\s+\S")


def package_dirs() -> list[Path]:
    """Where the packages are installed (this checkout, with `pip install -e`)."""
    return [Path(importlib.import_module(name).__file__).parent for name in PACKAGES]


def relative(path: str) -> str:
    path = Path(path).resolve()
    for directory in package_dirs():
        if path.is_relative_to(directory):
            return path.relative_to(directory.parent).as_posix()
    return path.as_posix()


def test_bandit_finds_nothing():
    completed = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", *map(str, package_dirs()), "-f", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.stdout, completed.stderr
    report = json.loads(completed.stdout)
    assert not report["errors"], report["errors"]
    # bandit exits 1 when it reports issues, 0 when none; anything else is a crash.
    assert completed.returncode == (1 if report["results"] else 0), completed.stderr
    found = {}
    for issue in report["results"]:
        key = (relative(issue["filename"]), issue["test_id"])
        found.setdefault(key, []).append(
            f"{key[0]}:{issue['line_number']} {issue['test_id']} {issue['issue_text']}"
        )
    unexpected = [
        line for key, lines in found.items() if key not in AWAITING_NOSEC for line in lines
    ]
    assert not unexpected, "fix these, or justify them with # nosec BXXX - reason:\n" + "\n".join(
        unexpected
    )
    stale = sorted(set(AWAITING_NOSEC) - set(found))
    assert not stale, f"no longer found: remove from AWAITING_NOSEC: {stale}"


def test_every_nosec_names_the_test_and_says_why():
    bare = []
    for directory in package_dirs():
        for path in sorted(directory.rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = NOSEC.search(line)
                if match and not JUSTIFIED.match(match.group("rest")):
                    bare.append(f"{relative(str(path))}:{number}: {line.strip()}")
    assert not bare, "write # nosec BXXX - reason:\n" + "\n".join(bare)
