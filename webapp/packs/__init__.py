"""Built-in workflow packs as declarative JSON files."""
