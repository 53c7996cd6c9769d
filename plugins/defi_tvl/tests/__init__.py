"""Tests of the defi-tvl plugin (a package, so module names never clash with other suites)."""
