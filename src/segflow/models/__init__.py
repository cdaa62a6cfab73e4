"""Customer models: RFM, clusters, lifecycle, activity/loyalty, lifetime value."""
