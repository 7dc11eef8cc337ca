"""Construction-quality and site-safety reports by residents, with photos (DESIGN.md §5)."""
