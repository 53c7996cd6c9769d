"""Tests of the azure-sentiment plugin (a package: its module names never clash elsewhere)."""
