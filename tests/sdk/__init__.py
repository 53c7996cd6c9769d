"""Tests of the published SDK: models, contracts, manifest, hooks and the conformance kit."""
