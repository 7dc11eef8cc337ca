"""Pledges and elevator co-funding (DESIGN.md §4). Not built yet: see the contributions issue."""
