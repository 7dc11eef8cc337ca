"""Report views by audience; each registers on reports.blueprint.bp."""
