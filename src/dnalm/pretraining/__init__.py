"""Stage 3, pretraining: windows of the tokenized genome, masked-LM batches, training, the launcher."""
