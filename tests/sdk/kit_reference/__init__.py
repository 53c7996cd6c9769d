"""Reference plugins the conformance kit is tested against: correct ones and broken twins."""
