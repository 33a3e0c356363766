"""Shared domain code for the TV report pipeline (the `shared` Lambda layer)."""
