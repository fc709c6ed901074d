"""Models of dataio."""
