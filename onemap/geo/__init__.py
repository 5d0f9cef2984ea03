"""Data, CRS and I/O: the layers of the one map, their schemas, reading, validation, writing."""
