"""Test doubles that stand in for real parts (a scripted live session, simulated
links): tests and benchmarks inject them through parameters; the product never
imports this package."""
