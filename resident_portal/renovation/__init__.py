"""The renovation itself: each estate's project record, its public notice board (公示牌) and its
figures for the monthly bulletin (docs/renovation.md)."""
