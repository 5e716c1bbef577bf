"""Configs, the class registry and weights files."""
