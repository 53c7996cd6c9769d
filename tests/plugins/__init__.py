"""End-to-end tests of the repository's plugins inside the engine (they may import the core)."""
