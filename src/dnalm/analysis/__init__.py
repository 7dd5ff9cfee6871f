"""Stage 6, what the model learned: token and window embeddings, self-similarity, their reports."""
