"""Stage 7, the MultiQC report."""
