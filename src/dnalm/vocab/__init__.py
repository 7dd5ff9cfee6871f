"""Stage 2, vocabularies: BPE (with its C core) and k-mers, the tokenized genome, vocabulary statistics."""
