"""Tests of the Kubernetes manifests, the topic generator, the Dockerfile and the compose file."""
