"""Helpers shared by several test suites (import them; they hold no fixtures)."""
