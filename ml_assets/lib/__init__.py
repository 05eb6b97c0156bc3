"""Helpers several groups use; groups import from here, never from each other."""
