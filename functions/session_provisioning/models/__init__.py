"""Pydantic models for every boundary: API input, workflow state, step I/O, event detail."""
