"""Survey views by audience; each registers on survey.blueprint.bp."""
