"""The read side: filtered keyset pages (listing), typo-tolerant search (search) and the
dashboard figures (overview).

May import: base, settings, workflows.
"""
