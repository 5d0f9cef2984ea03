"""Corridor model, corridor graph, routes, the filing rule and bulk distances."""
