"""Pure text helpers shared by NLU and services: folding, normalising, code and phone patterns."""
