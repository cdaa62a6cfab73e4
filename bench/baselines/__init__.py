"""What people would write without segflow, measured against it."""
