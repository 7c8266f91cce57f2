"""The benchmarks (``python -m bench``; each module's docstring says what it measures).

Every benchmark process runs with the collector settings the app's processes serve with
(``webapp.serving.tune_collector``, applied by wsgi.py), floors and references included.
"""
from webapp.serving import tune_collector

tune_collector()
