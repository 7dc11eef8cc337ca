"""Surveys and formal votes (DESIGN.md §3). Not built yet: see the survey issue."""
