"""A local replay server on loopback that answers like the vendors' documented APIs."""
