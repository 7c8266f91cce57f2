"""A type's declared data (CONTRACT §7): field specs (spec), validation and normalisation of
``data`` on every write path (validation, one reader per kind in kinds), encryption and masking
of sensitive fields (secrets) and their re-encryption under a new key (rotation), and what a
change of a type's fields would refuse among the stored entities (impact).

May import: base.
"""
