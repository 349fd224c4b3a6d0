"""Conformance cases against Kamal 2.12: ``python -m kamal_nb.conformance FILE.json``."""
