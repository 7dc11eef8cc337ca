"""Pledges, payments and elevator co-funding (DESIGN.md §4)."""
