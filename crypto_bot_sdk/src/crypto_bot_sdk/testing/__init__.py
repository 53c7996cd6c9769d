"""The conformance kit: checks a plugin author runs from their own pytest suite."""
