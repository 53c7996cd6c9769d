"""Deployment tests: the plugin install step, the Dockerfiles and the Helm chart."""
