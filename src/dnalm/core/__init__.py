"""What every stage shares: errors, logging, atomic outputs, MultiQC content, fingerprints, caches, devices."""
