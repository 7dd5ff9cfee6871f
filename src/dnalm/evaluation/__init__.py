"""Stages 4 and 5, evaluation: next-k-mer, labelled tasks, fine-tuning, TF-IDF baselines, selection."""
