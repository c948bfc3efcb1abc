"""CLIP: zero-shot reading, scores, retrieval, the similarity matrix and the joint embedding map."""
