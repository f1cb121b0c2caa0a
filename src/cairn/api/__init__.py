"""The api layer (see docs/architecture.md); filled in by later issues."""
