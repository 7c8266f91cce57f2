"""Scheduled transitions (CONTRACT §8): create, list, cancel."""
