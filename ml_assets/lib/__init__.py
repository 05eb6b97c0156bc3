"""Helpers shared by several groups."""
