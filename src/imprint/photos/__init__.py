"""What happens to a user's photo before training: any Pillow mode to upright RGB (modes.py), and the
square crop that keeps the subject (crop.py), placed on a person's face (faces.py) or on what stands
out (saliency.py).

Knows no HTTP, tenants or models; both ingest/ (decoding fetched bytes) and engine/ (preparing
training squares) use it.
"""
