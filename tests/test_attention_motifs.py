"""`dnalm attention-motifs` on the bundled window's CTCF task: attention per base, enrichment, motifs, JASPAR."""

from __future__ import annotations

import collections
import csv
import gzip

import numpy as np
import pytest
from helpers import JASPAR, dnalm, dnalm_fails, read_tsv, write_task


def rows(task, split: str) -> list[dict[str, str]]:
    with open(task / f"{split}.csv") as fh:
        return list(csv.DictReader(fh))


def test_attention_per_base_is_the_cls_rows_attention_spread_over_each_tokens_bases(ctcf_classifier):
    """An independent forward pass (HF's eager attention): each base gets the attention of the token covering
    it (BPE tokens do not overlap), normalised over the sequence's tokens."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from dnalm.analysis.attention import base_attention, load_classifier
    from dnalm.analysis.span_tokens import dnalm_tokenizer
    from dnalm.vocab.vocabulary import SPECIAL_TOKENS, Vocabulary

    model_dir = ctcf_classifier / "ft" / "seed42" / "model"
    seqs = [r["sequence"] for r in rows(ctcf_classifier / "ctcf", "test")[:3]]
    vocab = Vocabulary.load(model_dir)
    scores, probs = base_attention(load_classifier(model_dir), dnalm_tokenizer(vocab), seqs, batch_size=2,
                                   positive=1)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
    for seq, score, prob in zip(seqs, scores, probs):
        ids = vocab.encode(seq).tolist()
        inputs = [SPECIAL_TOKENS.index("[CLS]"), *ids, SPECIAL_TOKENS.index("[SEP]")]
        with torch.no_grad():
            out = model(input_ids=torch.tensor([inputs]), output_attentions=True)
        cls = out.attentions[-1][0, :, 0, 1:-1].sum(0).numpy()
        lengths = [len(vocab.decode([t])) for t in ids]
        expected = np.repeat(cls / cls.sum(), lengths)
        assert score.shape == (len(seq),) and np.allclose(score, expected, atol=1e-6)
        assert prob == pytest.approx(torch.softmax(out.logits, -1)[0, 1].item(), abs=1e-6)


def test_kmer_enrichment_is_the_hypergeometric_test_of_the_written_counts(ctcf_motifs):
    """Counts recomputed from the sequences; p-values from scipy; q-values Benjamini-Hochberg's."""
    from scipy.stats import false_discovery_control, hypergeom

    kmers = read_tsv(ctcf_motifs / "kmers.tsv")
    summary = __import__("json").loads((ctcf_motifs / "summary.json").read_text())
    assert summary["background"] == "shuffled" and len(kmers) == summary["candidate_kmers"] > 0
    n_pos = summary["positives"]
    p = np.array([float(r["p_value"]) for r in kmers])
    for r in kmers[:20]:
        k_pos, k_neg = int(r["positives_with"]), int(r["negatives_with"])
        assert float(r["p_value"]) == pytest.approx(hypergeom.sf(k_pos - 1, 2 * n_pos, n_pos, k_pos + k_neg),
                                                    rel=1e-5)
        assert int(r["positives_in_regions"]) >= 3 and k_pos >= int(r["positives_in_regions"])
    assert np.allclose([float(r["q_value"]) for r in kmers], false_discovery_control(p), rtol=1e-5)
    assert list(p) == sorted(p)


def test_motifs_are_written_as_meme_matrices_with_their_logos_and_best_matches(ctcf_motifs):
    from memelite.io import read_meme

    motifs = read_tsv(ctcf_motifs / "motifs.tsv")
    meme = read_meme(str(ctcf_motifs / "motifs.meme"))
    assert 0 < len(motifs) == len(meme) and all((ctcf_motifs / "logos" / f"{m['motif']}.png").stat().st_size > 5000
                                                for m in motifs)
    kmers = {r["kmer"]: r for r in read_tsv(ctcf_motifs / "kmers.tsv")}
    for m, (name, pwm) in zip(motifs, meme.items()):
        assert name.split()[0] == m["motif"] and pwm.shape == (4, int(m["length"]))
        assert np.allclose(pwm.sum(0), 1, atol=1e-3)
        seed = m["seed"]
        assert kmers[seed]["motif"] == m["motif"] and float(m["seed_q_value"]) < 0.05
        assert m["best_match"].startswith("MA") and float(m["best_match_p"]) < 1


def test_dinucleotide_shuffles_keep_every_dinucleotide_count(ctcf_classifier):
    from dnalm.analysis.attention_motifs import dinucleotide_shuffle

    rng = np.random.default_rng(0)
    for r in rows(ctcf_classifier / "ctcf", "dev")[:10]:
        seq = r["sequence"]
        shuffled = dinucleotide_shuffle(seq, rng)
        pairs = [collections.Counter(s[i:i + 2] for i in range(len(s) - 1)) for s in (seq, shuffled)]
        assert pairs[0] == pairs[1] and shuffled != seq and shuffled[0] == seq[0]


def test_tomtom_matches_the_task_sites_own_matrix_to_ctcf(ctcf_classifier):
    """The CTCF task's motif sites (FIMO hits of MA0139.1 in the bundled window), aligned: their base
    frequencies' closest matrix of the 853 bundled JASPAR matrices is a CTCF one."""
    from dnalm.analysis.motifs import best_matches, pwm_of, read_jaspar_collection

    sites = []
    for r in rows(ctcf_classifier / "ctcf", "train"):
        lo = int(r["motif_start"]) - int(r["start"])
        width = int(r["motif_end"]) - int(r["motif_start"])
        if r["strand"] == "-":
            lo = len(r["sequence"]) - lo - width
        sites.append(r["sequence"][lo:lo + width])
    collection = read_jaspar_collection(JASPAR)
    assert len(collection) == 853 and {m.id: m.name for m in collection}["MA0139.1"] == "CTCF"
    best = best_matches([pwm_of(sites)], collection, top=3)[0]
    assert best[0][0].name.startswith("CTCF") and best[0][1] < 1e-6


def test_bad_inputs_are_one_line_errors(tmp_path, ctcf_classifier):
    model = ctcf_classifier / "ft" / "seed42" / "model"
    (tmp_path / "bad.jaspar").write_text(">MA1 X\n1 2 3\n4 5 6\n")
    one_class = write_task(tmp_path / "one", {"train": [("ACGTACGTAC", 0), ("ACGTACGTAA", 1)],
                                              "dev": [("ACGTACGTCC", 0)], "test": [("ACGTACGTGG", 0)]})
    with gzip.open(tmp_path / "empty.jaspar.gz", "wt") as fh:
        fh.write("\n")
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")  # a HuggingFace model: no dnalm vocabulary
    cases = [(["--jaspar", tmp_path / "bad.jaspar", "--data", ctcf_classifier / "ctcf"], "four rows"),
             (["--jaspar", tmp_path / "empty.jaspar.gz", "--data", ctcf_classifier / "ctcf"], "no JASPAR matrix"),
             (["--jaspar", JASPAR, "--data", one_class, "--splits", "test"], "need sequences of class 1 and of other"),
             (["--jaspar", JASPAR, "--data", ctcf_classifier / "ctcf", "--splits", "train,tset"], "tset is not one"),
             (["--jaspar", JASPAR, "--data", ctcf_classifier / "ctcf", "--positive-class", "5"], "has classes 0..1"),
             (["--jaspar", JASPAR, "--data", ctcf_classifier / "ctcf", "--classifier", tmp_path / "hf"],
              "not a dnalm classifier")]
    for extra, message in cases:
        err = dnalm_fails("attention-motifs", "--classifier", model, *extra, "--out", tmp_path / "out")
        assert message in err and len(err.strip().splitlines()) == 1


def test_a_task_labelled_1_and_2_needs_its_label_map_and_then_finds_the_same_motifs(tmp_path, ctcf_classifier,
                                                                                     ctcf_motifs):
    """The CTCF task with its labels written 1 and 2: refused rather than renumbered; with `--label-map` that
    says which is which, the same motifs as the task labelled 0 and 1."""
    relabelled = write_task(tmp_path / "ctcf_12", {split: [(r["sequence"], int(r["label"]) + 1)
                                                           for r in rows(ctcf_classifier / "ctcf", split)]
                                                   for split in ("train", "dev", "test")})
    args = ["attention-motifs", "--classifier", ctcf_classifier / "ft" / "seed42" / "model", "--data", relabelled,
            "--jaspar", JASPAR, "--background", "shuffled"]
    assert "declare which label is which class with --label-map" in dnalm_fails(*args, "--out", tmp_path / "refused")
    dnalm(*args, "--label-map=1=0,2=1", "--out", tmp_path / "mapped")
    assert (tmp_path / "mapped" / "motifs.tsv").read_text() == (ctcf_motifs / "motifs.tsv").read_text()
    assert (tmp_path / "mapped" / "kmers.tsv").read_text() == (ctcf_motifs / "kmers.tsv").read_text()
