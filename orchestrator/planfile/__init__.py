"""planfile."""
