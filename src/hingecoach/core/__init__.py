"""Types, units, conventions and errors shared by every stage."""
