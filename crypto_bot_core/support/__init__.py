"""Helpers every layer may use: YAML documents with line numbers, the key-and-line error
type, and trusted construction of SDK models the core built itself."""
