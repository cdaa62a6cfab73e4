"""Segment-compatible tracking: calls, the inbox (group commit), the flush into the warehouse."""
