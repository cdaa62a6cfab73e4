"""segflow's benchmark suites; run them with ``python bench/run.py <suite>``."""
