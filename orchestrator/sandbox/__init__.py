"""A faithful local emulator of the Genesys Cloud endpoints the orchestrator uses."""
