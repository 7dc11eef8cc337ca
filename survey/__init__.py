"""Surveys and formal votes (docs/domain.md). Not built yet: see the survey issue."""
