"""Extraction: typed fields and line items from a document page (templates, value reading, checks)."""
