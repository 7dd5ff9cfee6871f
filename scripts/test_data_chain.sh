#!/usr/bin/env bash
# Run the dnalm steps on the bundled real test data (hg19 chr22, 1 Mb), writing under $1 (default: results).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-results}
dnalm="$root/bin/dnalm"
[ -x "$root/.venv/bin/python" ] && dnalm="$root/.venv/bin/python $root/bin/dnalm"
mkdir -p "$out"
$dnalm prepare-genome --fasta "$root/assets/test/hg19_chr22_20-21Mb.fa.gz" --out "$out/genome"
$dnalm vocab-sweep --genome "$out/genome" --cycles 100,600,2000 --out "$out/vocabularies"
$dnalm kmer-vocab --kind kmer --k 6 --out "$out/vocabularies_kmer/kmer6"
tokenized=()
for vocab in "$out"/vocabularies/bpe_* "$out/vocabularies_kmer/kmer6"; do
    name=$(basename "$vocab")
    $dnalm tokenize-genome --genome "$out/genome" --vocab "$vocab" --out "$out/tokenized/$name"
    $dnalm make-windows --tokenized "$out/tokenized/$name" --holdout-regions "$out/genome/holdout_default.bed" \
        --out "$out/windows/$name"
    tokenized+=("$out/tokenized/$name")
done
$dnalm vocab-stats --tokenized "${tokenized[@]}" --out "$out/vocab_stats"
echo "done: $out"
