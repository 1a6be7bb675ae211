"""The core layer (linked persons and households, history, parameters) and the marts."""
