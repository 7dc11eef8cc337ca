"""Build hooks: the wheel and the sdist carry the templates and the compiled catalogs.

The repository keeps `templates/` and `translations/` at its top (the design card), and never
commits compiled catalogs (.mo). An installed package has no checkout around it, so the build
copies both folders into the `resident_portal` package and compiles every catalog on the way:
`python -m build` gives a wheel (and an sdist) that runs from any working folder. Everything
else about the package is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
# Top-level folders of the repository that the package carries inside resident_portal/.
CARRIED = ("templates", "translations")


def compile_catalogs(translations: Path) -> None:
    """Compile every messages.po below `translations` into its messages.mo (like
    `pybabel compile`); fuzzy entries are left out, as pybabel does by default."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(translations.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog)


class BuildPyWithResources(build_py):
    """build_py, plus templates/ and translations/ (with compiled catalogs) in the package."""

    def run(self):
        super().run()
        # An editable install runs from the checkout, which finds the folders where they are.
        if getattr(self, "editable_mode", False):
            return
        package = Path(self.build_lib) / "resident_portal"
        for name in CARRIED:
            target = package / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(HERE / name, target, ignore=shutil.ignore_patterns("*.mo"))
        compile_catalogs(package / "translations")


class SdistWithCatalogs(sdist):
    """The sdist carries the compiled catalogs too, built afresh from the .po files."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        # MANIFEST.in leaves the checkout's .mo files out (they may be stale): compile afresh.
        compile_catalogs(Path(base_dir) / "translations")


setup(cmdclass={"build_py": BuildPyWithResources, "sdist": SdistWithCatalogs})
