"""Models of identity."""
