"""One package per area; each is thin: parse, call the core, render."""
