"""Pledges, payments and elevator co-funding (docs/domain.md)."""
