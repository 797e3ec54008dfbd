"""MPP Desk: the counter application of a Mal Pelayanan Publik."""

__version__ = "0.1.0"
