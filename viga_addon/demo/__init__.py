"""Bundled example photo and the scripted replies of the offline demo (not a model)."""
