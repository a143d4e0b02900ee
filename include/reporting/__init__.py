"""The static HTML engagement dashboard."""
