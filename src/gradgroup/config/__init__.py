"""The config layer: structured schema (types, closed choices) and composition helpers."""
