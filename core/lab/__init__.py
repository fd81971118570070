"""VLM Lab: run several models over a folder of documents and score them against reference answers."""
