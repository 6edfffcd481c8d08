"""Kubernetes deployment: kustomize base and overlays, and the tools that generate and render them."""
