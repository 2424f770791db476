"""Types, units, conventions, the shared vocabulary, errors and JSON number helpers
shared by every stage."""
