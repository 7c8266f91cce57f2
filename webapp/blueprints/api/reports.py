"""Reports (CONTRACT §8): time in state, throughput."""
