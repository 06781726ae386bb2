"""Builders shared by the tests: the in-process agent stack and its helpers."""
