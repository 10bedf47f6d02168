"""genesys."""
