"""Contribution views by audience; each registers on contributions.blueprint.bp."""
