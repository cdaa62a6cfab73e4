"""Segments: previews now; static and dynamic segments with refresh and history later."""
