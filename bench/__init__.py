"""Benchmarks: the figures the project is held to, and the harness that measures them.

Run from the repository root (``python -m bench.compare``); the modules
import each other as ``bench.*``.
"""
