"""Construction-quality and site-safety reports by residents, with photos (docs/domain.md)."""
