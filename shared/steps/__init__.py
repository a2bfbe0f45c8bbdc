"""Orchestration of one hop over ports and stores: what a handler calls, testable without Lambda."""
