"""`dnalm variant-effects` on the bundled hg19 window: VCF records of every documented kind, checked scores."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import ASSETS, DNALM, dnalm, dnalm_fails, read_tsv

CONTIG = "chr22_20M_21M"
GAP = 509_432  # 0-based start of the real 100 kb N gap of the bundled window


@pytest.fixture(scope="module")
def sequence(human_genome) -> dict[int, str]:
    """The prepared genome's bases by 0-based position, run by run (N gaps absent)."""
    from dnalm.genome.prepare import iter_runs

    return {run.start: run.seq.decode() for run in iter_runs(human_genome)}


def base(sequence: dict[int, str], pos: int, n: int = 1) -> str:
    start = max(s for s in sequence if s <= pos)
    return sequence[start][pos - start:pos - start + n]


def write_vcf(path, records: list[tuple]) -> None:
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID={CONTIG},length=1000000>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += ["\t".join(map(str, (chrom, pos0 + 1, vid, ref, alt, ".", "PASS", "."))) for chrom, pos0, vid, ref, alt
              in records]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def scored(tmp_path_factory, human_genome, pretrained, sequence):
    """Random SNVs (one record with two ALTs), an insertion, a deletion, a symbolic ALT and a record in the N
    gap, written out of order."""
    rng = np.random.default_rng(0)
    records = []
    for i, pos in enumerate(sorted(rng.choice(np.arange(1_000, 400_000), size=60, replace=False))):
        ref = base(sequence, pos)
        alts = [b for b in "ACGT" if b != ref]
        records.append((CONTIG, pos, f"snv{i}", ref, alts[i % 3] if i else f"{alts[0]},{alts[1]}"))
    records += [(CONTIG, 700_000, "ins", base(sequence, 700_000), base(sequence, 700_000) + "GATTACA"),
                (CONTIG, 700_100, "del", base(sequence, 700_100, 6), base(sequence, 700_100)),
                (CONTIG, 700_200, "sv", base(sequence, 700_200), "<DEL>"),
                (CONTIG, GAP + 10, "gap", "N", "A")]
    records.reverse()
    tmp = tmp_path_factory.mktemp("variants")
    write_vcf(tmp / "in.vcf", records)
    dnalm("variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome, "--variants",
          tmp / "in.vcf", "--window", 200, "--out", tmp / "out")
    return tmp, records


def test_every_allele_gets_a_row_and_the_unscorable_ones_say_why(scored):
    tmp, records = scored
    rows = read_tsv(tmp / "out" / "variant_effects.tsv")
    assert len(rows) == len(records) + 1  # the two-ALT record gives two rows
    by_id = {}
    for r in rows:
        by_id.setdefault(r["ID"], []).append(r)
    assert [r["ALT"] for r in by_id["snv0"]] == records[-1][4].split(",") and \
        all(r["status"] == "scored" for r in by_id["snv0"])
    assert by_id["sv"][0]["status"] == "ALT is not a sequence" and by_id["sv"][0]["mlm_llr"] == ""
    assert by_id["gap"][0]["status"] == "bases other than A/C/G/T"
    assert by_id["ins"][0]["status"] == by_id["del"][0]["status"] == "scored"
    assert int(by_id["del"][0]["masked_ref_tokens"]) >= 1 and int(by_id["ins"][0]["masked_alt_tokens"]) >= 1
    # the VCF's own order, as read
    assert [int(r["POS"]) for r in rows] == [pos + 1 for _, pos, _, _, alt in records for _ in alt.split(",")]


def test_the_scored_vcf_is_sorted_indexed_and_reads_back_in_pysam_and_bcftools(scored):
    import pysam

    tmp, records = scored
    out = tmp / "out" / "variant_effects.vcf.gz"
    assert (tmp / "out" / "variant_effects.vcf.gz.tbi").is_file()
    with pysam.VariantFile(str(out)) as vcf:
        got = list(vcf)
        near = list(vcf.fetch(CONTIG, 699_990, 700_110))  # through the index
    assert [r.pos for r in got] == sorted(r.pos for r in got) and len(got) == len(records)
    assert [r.id for r in near] == ["ins", "del"]
    tsv = {(r["ID"], r["ALT"]): r for r in read_tsv(tmp / "out" / "variant_effects.tsv")}
    for rec in got:
        for alt, value in zip(rec.alts, rec.info.get("mlm_llr", (None,) * len(rec.alts))):
            expected = tsv[(rec.id, alt)]["mlm_llr"]
            assert (value is None and expected == "") or abs(value - float(expected)) < 1e-4
    if not shutil.which("bcftools"):
        pytest.skip("bcftools (Debian) is not installed")
    view = subprocess.run(["bcftools", "view", str(out)], capture_output=True, text=True)
    assert view.returncode == 0 and view.stderr == "", view.stderr
    assert "##INFO=<ID=mlm_llr,Number=A,Type=Float" in view.stdout


def test_a_one_token_change_scores_as_the_models_log_odds_of_the_two_tokens(scored, pretrained, sequence):
    """Where REF and ALT differ in one token at one place, the forward score is the model's own log-odds of the
    ALT token against the REF token at that masked position (an independent forward pass over the window of
    200 bp centred on the SNV)."""
    import torch
    from transformers import AutoModelForMaskedLM

    from dnalm.analysis.allele_scores import Tokens
    from dnalm.analysis.span_tokens import dnalm_tokenizer
    from dnalm.vocab.vocabulary import SPECIAL_TOKENS, Vocabulary

    CLS, SEP, MASK = (SPECIAL_TOKENS.index(t) for t in ("[CLS]", "[SEP]", "[MASK]"))
    tmp, _ = scored
    model_dir = pretrained / "model" / "model"
    tok, model = dnalm_tokenizer(Vocabulary.load(model_dir)), AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    rows = [r for r in read_tsv(tmp / "out" / "variant_effects.tsv")
            if r["status"] == "scored" and r["masked_ref_tokens"] == r["masked_alt_tokens"] == "1"
            and len(r["REF"]) == len(r["ALT"]) == 1]
    assert len(rows) >= 10
    for r in rows[:10]:
        pos = int(r["POS"]) - 1
        window = base(sequence, pos - 99, 199)  # the runs hold these positions (1,000-400,000)
        alt = window[:99] + r["ALT"] + window[100:]
        ref_t, alt_t = Tokens.of(tok, window), Tokens.of(tok, alt)
        (i,) = [k for k in range(len(ref_t.ids)) if ref_t.ids[k] != alt_t.ids[k]]
        ids = torch.tensor([[CLS, *ref_t.ids.tolist(), SEP]])
        ids[0, i + 1] = MASK
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0, i + 1], -1)
        expected = float(logp[alt_t.ids[i]] - logp[ref_t.ids[i]])
        assert abs(float(r["mlm_llr_forward"]) - expected) < 1e-4, (r, expected)


def test_a_real_hapmap_exome_vcf_scores_every_allele_and_keeps_its_columns_and_genotypes(tmp_path, human_genome,
                                                                                         pretrained):
    """The 16 HapMap exome calls (GATK VQSR, 22 samples) of the window from Bioconductor's VariantAnnotation
    (assets/test/README.md): a two-ALT record, an insertion, PASS and VQSR-filtered rows, all scored; the VCF
    written back keeps every record's own INFO and every sample's FORMAT fields next to the scores."""
    import pysam

    def info(rec) -> dict:
        """INFO by pysam, but GATK's INFO PG (declared Number=G, which pysam refuses in INFO) as its text."""
        text = dict(kv.partition("=")[::2] for kv in str(rec).split("\t")[7].split(";"))
        return {k: text[k] if rec.header.info[k].number == "G" else rec.info[k] for k in rec.info}

    source = ASSETS / "hapmap_exome_chr22_20-21Mb.vcf.gz"
    with pysam.VariantFile(str(source)) as vcf:
        samples = list(vcf.header.samples)
        records = [(r.pos, r.id, r.ref, r.alts, list(r.filter), r.qual, info(r),
                    {s: dict(r.samples[s].items()) for s in samples}) for r in vcf]
    assert len(records) == 16 and sum(len(r[3]) for r in records) == 17 and len(samples) == 22
    dnalm("variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome, "--variants",
          source, "--window", 200, "--out", tmp_path / "out")

    rows = read_tsv(tmp_path / "out" / "variant_effects.tsv")
    alleles = [(rec, alt) for rec in records for alt in rec[3]]
    assert [(r["CHROM"], r["POS"], r["ID"], r["REF"], r["ALT"], r["FILTER"]) for r in rows] == \
        [(CONTIG, str(pos), vid, ref, alt, ";".join(filters)) for (pos, vid, ref, _, filters, *_), alt in alleles]
    # QUAL as htslib holds it, a 32-bit float (1307274.62 reads back as 1307274.6, not as 1.30727e+06)
    assert all(np.float32(r["QUAL"]) == np.float32(rec[5]) for r, (rec, _) in zip(rows, alleles))
    qual = {r["ID"]: r["QUAL"] for r in rows}
    assert qual["rs5844421"] == "1307274.6" and qual["rs175168"] == "50283.85"
    assert all(r["status"] == "scored" and np.isfinite(float(r["mlm_llr"])) for r in rows), rows
    assert {r["FILTER"] for r in rows} == {"PASS", "VQSRTrancheSNP99.80to99.90", "VQSRTrancheSNP99.90to100.00"}
    assert [r["ALT"] for r in rows if r["ID"] == "rs175168"] == ["T", "A"]
    assert [(r["REF"], r["ALT"]) for r in rows if r["ID"] == "rs5844421"] == [("G", "GC")]

    tsv = {(r["ID"], r["ALT"]): float(r["mlm_llr"]) for r in rows}
    with pysam.VariantFile(str(tmp_path / "out" / "variant_effects.vcf.gz")) as vcf:
        assert list(vcf.header.samples) == samples
        got = list(vcf)
    assert [(r.pos, r.id, r.ref, r.alts, list(r.filter)) for r in got] == [rec[:5] for rec in records]
    for rec, (_, vid, _, alts, _, _, before, genotypes) in zip(got, records):
        scores = rec.info["mlm_llr"]
        assert len(scores) == len(alts) and all(abs(v - tsv[(vid, alt)]) < 1e-4 for v, alt in zip(scores, alts))
        assert {k: v for k, v in info(rec).items() if k in before} == before  # the caller's own INFO, kept
        assert {s: dict(rec.samples[s].items()) for s in samples} == genotypes


def _hf_char_bert(path):
    """A tiny HuggingFace BERT masked-LM with a one-base-per-token fast tokenizer ([CLS] ... [SEP]): an external
    model, with a tokenizer of its own."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "A", "C", "G", "T", "N"])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2),
                                                                                                ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                            sep_token="[SEP]", mask_token="[MASK]").save_pretrained(path)
    import torch

    torch.manual_seed(0)
    BertForMaskedLM(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=512, pad_token_id=0)).save_pretrained(path)
    return path


def test_a_huggingface_masked_lm_scores_alleles_with_its_own_tokenizer(scored, human_genome, sequence, tmp_path):
    """An external model (no dnalm vocabulary): its fast tokenizer's offsets find the changed token, one base
    here, and the forward score is the model's own log-odds of ALT's base against REF's at that masked position."""
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tmp, _ = scored
    model_dir = _hf_char_bert(tmp_path / "hf_char")
    dnalm("variant-effects", "--model", model_dir, "--genome", human_genome, "--variants", tmp / "in.vcf", "--window",
          101, "--out", tmp_path / "out")
    rows = [r for r in read_tsv(tmp_path / "out" / "variant_effects.tsv") if r["status"] == "scored"]
    assert len(rows) == 63 and {r["masked_ref_tokens"] for r in rows if len(r["REF"]) == len(r["ALT"]) == 1} == {"1"}
    tok, model = AutoTokenizer.from_pretrained(model_dir), AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    for r in [r for r in rows if len(r["REF"]) == len(r["ALT"]) == 1][:5]:
        pos = int(r["POS"]) - 1
        window = base(sequence, pos - 50, 101)
        ids = torch.tensor([tok(window)["input_ids"]])
        assert ids[0, 51] == tok.convert_tokens_to_ids(r["REF"])  # [CLS], then 50 bases before the SNV
        ids[0, 51] = tok.mask_token_id
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0, 51], -1)
        expected = float(logp[tok.convert_tokens_to_ids(r["ALT"])] - logp[tok.convert_tokens_to_ids(r["REF"])])
        assert abs(float(r["mlm_llr_forward"]) - expected) < 1e-4, (r, expected)


def test_a_huggingface_classifier_scores_alleles_as_its_own_probabilities_say(scored, ctcf_classifier, human_genome,
                                                                              sequence, tmp_path):
    """`finetune --save-model` of an external model keeps its tokenizer; `--classifier` reads it: the REF and ALT
    probabilities are the classifier's own, on both strands (an independent forward pass)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from dnalm.evaluation.genome_tasks import reverse_complement

    tmp, records = scored
    model_dir = _hf_char_bert(tmp_path / "hf_char")
    dnalm("finetune", "--model", model_dir, "--data", ctcf_classifier / "ctcf", "--max-steps", 3, "--save-model",
          "--out", tmp_path / "ft")
    write_vcf(tmp_path / "few.vcf", [r for r in records if r[2] in ("snv1", "snv2", "snv3")])
    dnalm("variant-effects", "--model", model_dir, "--classifier", tmp_path / "ft", "--genome", human_genome,
          "--variants", tmp_path / "few.vcf", "--window", 101, "--out", tmp_path / "out")
    saved = tmp_path / "ft" / "seed42" / "model"
    tok, model = AutoTokenizer.from_pretrained(saved), AutoModelForSequenceClassification.from_pretrained(saved).eval()
    for r in read_tsv(tmp_path / "out" / "variant_effects.tsv"):
        pos = int(r["POS"]) - 1
        ref = base(sequence, pos - 50, 101)
        alt = ref[:50] + r["ALT"] + ref[51:]
        with torch.no_grad():
            p = [torch.softmax(model(**tok(s, return_tensors="pt")).logits, -1)[0, 1].item()
                 for s in (ref, alt, reverse_complement(ref), reverse_complement(alt))]
        assert abs(float(r["cls_p_ref"]) - (p[0] + p[2]) / 2) < 1e-5
        assert abs(float(r["cls_p_alt"]) - (p[1] + p[3]) / 2) < 1e-5
        assert abs(float(r["cls_diff"]) - ((p[1] - p[0]) + (p[3] - p[2])) / 2) < 1e-5


def test_a_model_that_is_not_a_masked_lm_is_a_one_line_error(scored, human_genome, tmp_path):
    from test_nextkmer import _gpt2_char_model

    tmp, _ = scored
    err = dnalm_fails("variant-effects", "--model", _gpt2_char_model(tmp_path / "gpt2"), "--genome", human_genome,
                      "--variants", tmp / "in.vcf", "--out", tmp_path / "out")
    assert "--model" in err and ("mask token" in err or "AutoModelForMaskedLM" in err)


def test_scoring_cut_short_resumes_from_its_kept_scores_with_the_same_result(scored, human_genome, pretrained,
                                                                            tmp_path):
    """A run whose kept scores end mid-way (a killed job: whole batches and a line cut short) scores only the
    rest, and writes what an uninterrupted run writes; other settings never reuse them."""
    tmp, _ = scored
    args = ["variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome, "--variants",
            tmp / "in.vcf", "--window", 200, "--batch-size", 8, "--resume-dir", tmp_path / "kept"]
    dnalm(*args, "--out", tmp_path / "whole")
    [kept] = list((tmp_path / "kept").glob("*/scores.jsonl"))
    lines = kept.read_text().splitlines()
    sizes = [len(json.loads(line)) for line in lines]  # a line per batch of at most 8, batches within runs
    assert sum(sizes) == 63 and max(sizes) == 8 and len(lines) > 4
    kept.write_text("\n".join(lines[:3]) + "\n" + lines[3][:len(lines[3]) // 2])
    again = dnalm(*args, "--out", tmp_path / "resumed")
    assert f"{sum(sizes[:3])} alleles already scored" in again.stderr
    assert (tmp_path / "resumed" / "variant_effects.tsv").read_text() == \
        (tmp_path / "whole" / "variant_effects.tsv").read_text()
    # the cut line is gone and the new batches follow on lines of their own: a second kill loses nothing more
    assert [len(json.loads(line)) for line in kept.read_text().splitlines()[:3]] == sizes[:3]
    assert sum(len(json.loads(line)) for line in kept.read_text().splitlines()[3:]) == 63 - sum(sizes[:3])
    dnalm(*args[:-4], "--batch-size", 16, "--resume-dir", tmp_path / "kept", "--out", tmp_path / "other")
    assert len(list((tmp_path / "kept").glob("*/scores.jsonl"))) == 2


def test_bad_vcfs_are_one_line_errors(tmp_path, human_genome, pretrained, sequence):
    model = pretrained / "model" / "model"
    ref = base(sequence, 5_000)
    wrong = next(b for b in "ACGT" if b != ref)
    cases = {"ref": ([(CONTIG, 5_000, "x", wrong, ref)], f"record {CONTIG}:5001 {wrong}>{ref}: REF {wrong} does not "
                                                          f"match the genome ({ref})"),
             "contig": ([("chr1", 5_000, "x", "A", "G")], "record chr1:5001 is on contig 'chr1', which the genome "
                                                          f"lacks (it has {CONTIG})")}
    for name, (records, message) in cases.items():
        write_vcf(tmp_path / f"{name}.vcf", records)
        err = dnalm_fails("variant-effects", "--model", model, "--genome", human_genome, "--variants",
                          tmp_path / f"{name}.vcf", "--out", tmp_path / name)
        assert message in err and not (tmp_path / name).exists()
    (tmp_path / "text.vcf").write_text("not a vcf\n")
    err = dnalm_fails("variant-effects", "--model", model, "--genome", human_genome, "--variants",
                      tmp_path / "text.vcf", "--out", tmp_path / "text")
    assert "--variants" in err and "not a readable VCF" in err
    with gzip.open(tmp_path / "big.vcf.gz", "wt") as fh:
        fh.write((tmp_path / "ref.vcf").read_text().replace(f"\t{wrong}\t{ref}\t", f"\t{ref}\t{wrong}\t"))
    err = dnalm_fails("variant-effects", "--model", model, "--genome", human_genome, "--variants",
                      tmp_path / "big.vcf.gz", "--window", 5000, "--out", tmp_path / "big", logs=True)
    assert "--window 5000" in err and "does not fit the model's 512 positions" in err


def _other(b: str) -> str:
    return next(x for x in "ACGT" if x != b)


@pytest.fixture(scope="module")
def unscorable(tmp_path_factory, human_genome, pretrained, sequence):
    """Records that cannot be scored as asked in a `--window 200` run, beside an SNV that can: the variant's
    ID -> its TSV rows, the scored VCF's records by ID, and summary.json."""
    import pysam

    snv, dup = base(sequence, 100_000), base(sequence, 140_000)
    records = [(CONTIG, 100_000, "snv", snv, _other(snv)),
               (CONTIG, 110_000, "long_del", base(sequence, 110_000, 250), base(sequence, 110_000)),
               (CONTIG, 120_000, "window_del", base(sequence, 120_000, 200), base(sequence, 120_000)),
               (CONTIG, 130_000, "long_ins", base(sequence, 130_000), base(sequence, 130_000) + "GATTACA" * 40),
               (CONTIG, 135_000, "same", base(sequence, 135_000, 3), base(sequence, 135_000, 3).lower()),
               (CONTIG, 140_000, "first", dup, ",".join(b for b in "ACGT" if b != dup)),
               (CONTIG, 140_000, "again", dup, _other(dup))]
    tmp = tmp_path_factory.mktemp("unscorable")
    write_vcf(tmp / "in.vcf", records)
    dnalm("variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome, "--variants",
          tmp / "in.vcf", "--window", 200, "--out", tmp / "out")
    rows: dict[str, list[dict]] = {}
    for r in read_tsv(tmp / "out" / "variant_effects.tsv"):
        rows.setdefault(r["ID"], []).append(r)
    with pysam.VariantFile(str(tmp / "out" / "variant_effects.vcf.gz")) as vcf:
        return rows, {rec.id: rec for rec in vcf}, json.loads((tmp / "out" / "summary.json").read_text())


def test_a_deletion_as_long_as_the_window_is_named_not_scored(unscorable):
    """Its window would be its own bases alone (no context): once "scored" LLR 749.5."""
    rows, vcf, _ = unscorable
    assert rows["snv"][0]["status"] == "scored"
    assert rows["long_del"][0]["status"] == "REF not shorter than --window (250 bp, --window 200: no room for context)"
    assert rows["window_del"][0]["status"] == "REF not shorter than --window (200 bp, --window 200: no room for " \
                                              "context)"
    assert rows["long_del"][0]["mlm_llr"] == rows["window_del"][0]["mlm_llr"] == ""
    assert "mlm_llr" in vcf["snv"].info and "mlm_llr" not in vcf["long_del"].info


def test_an_insertion_longer_than_the_window_is_named_not_scored(unscorable):
    rows, vcf, _ = unscorable
    assert rows["long_ins"][0]["status"] == "ALT not shorter than --window (281 bp, --window 200: no room for context)"
    assert rows["long_ins"][0]["mlm_llr"] == "" and "mlm_llr" not in vcf["long_ins"].info


def test_an_alt_equal_to_ref_is_named_not_scored(unscorable):
    """ALT the same bases as REF (in another case here) is no variant: once "scored" 0."""
    rows, vcf, _ = unscorable
    assert rows["same"][0]["status"] == "ALT equals REF (not a variant)" and rows["same"][0]["mlm_llr"] == ""
    assert "mlm_llr" not in vcf["same"].info


def test_a_repeated_record_is_scored_once_and_the_repeat_names_the_first(unscorable):
    rows, vcf, summary = unscorable
    assert [r["status"] for r in rows["first"]] == ["scored"] * 3
    assert rows["again"][0]["ALT"] == rows["first"][0]["ALT"]
    assert rows["again"][0]["status"] == "duplicate (of record 6 of the VCF, ID first)"
    assert rows["again"][0]["mlm_llr"] == "" and "mlm_llr" not in vcf["again"].info
    # counted by kind, the details left to the rows
    assert summary["alleles"] == {"scored": 4, "REF not shorter than --window": 2, "ALT not shorter than --window": 1,
                                  "ALT equals REF": 1, "duplicate": 1}


def test_an_insertion_whose_window_does_not_fit_the_model_is_named_and_the_rest_scored(human_genome, sequence,
                                                                                       tmp_path):
    """A one-base-per-token model of 512 positions and `--window 400`: REF windows fit, the window of a 296 bp
    insertion does not; it gets a status and the SNVs around it (in its batch) their scores, where the whole
    run once failed blaming --window."""
    model_dir = _hf_char_bert(tmp_path / "hf_char")
    snvs = [(CONTIG, pos, f"snv{pos}", base(sequence, pos), _other(base(sequence, pos))) for pos in (50_000, 50_500)]
    ins = base(sequence, 50_200)
    write_vcf(tmp_path / "in.vcf", [snvs[0], (CONTIG, 50_200, "ins", ins, ins + "ACGTTGCA" * 37), snvs[1]])
    dnalm("variant-effects", "--model", model_dir, "--genome", human_genome, "--variants", tmp_path / "in.vcf",
          "--window", 400, "--out", tmp_path / "out")
    rows = {r["ID"]: r for r in read_tsv(tmp_path / "out" / "variant_effects.tsv")}
    assert rows["ins"]["status"] == "ALT window too long for the model (697 tokens, 512 positions)"
    assert rows["ins"]["mlm_llr"] == ""
    assert all(rows[vid]["status"] == "scored" and rows[vid]["mlm_llr"] != "" for vid in ("snv50000", "snv50500"))


def test_a_wrong_ref_is_refused_whatever_the_alt(tmp_path, human_genome, pretrained, sequence):
    """The REF check holds for records whose ALT is not scored too (symbolic, IUPAC, `*`, missing): a VCF of
    another assembly is refused, not half-scored."""
    ref = base(sequence, 5_000)
    wrong = _other(ref)
    for name, alt in {"symbolic": "<DEL>", "iupac": "R", "star": "*", "missing": "."}.items():
        write_vcf(tmp_path / f"{name}.vcf", [(CONTIG, 5_000, "x", wrong, alt)])
        err = dnalm_fails("variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome,
                          "--variants", tmp_path / f"{name}.vcf", "--out", tmp_path / name)
        assert f"--variants {tmp_path / f'{name}.vcf'}: record {CONTIG}:5001 {wrong}>{alt}: REF {wrong} does not " \
               f"match the genome ({ref})" in err, (name, err)


def test_a_killed_run_leaves_no_temporary_directory(scored, human_genome, pretrained, tmp_path):
    """A gzip (not bgzip) VCF is read from a plain copy: made in the run's partial output, so that a SIGKILL
    leaves nothing in $TMPDIR, the next run into that --out removes it, and the published output has none."""
    tmp, _ = scored
    with gzip.open(tmp_path / "in.vcf.gz", "wt") as fh:
        fh.write((tmp / "in.vcf").read_text())
    (tmp_path / "tmpdir").mkdir()
    args = ["variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome, "--variants",
            tmp_path / "in.vcf.gz", "--window", 200, "--out", tmp_path / "out"]
    proc = subprocess.Popen([sys.executable, str(DNALM), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(tmp_path / "tmpdir")})
    def copies() -> list:
        return [*tmp_path.glob("tmpdir/tmp*/variants.vcf"), *tmp_path.glob(".out.partial-*/*/variants.vcf")]

    deadline = time.time() + 120
    while not copies() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL and copies()  # killed while the copy was there
    assert not list((tmp_path / "tmpdir").glob("tmp*"))  # tempfile's, left for ever
    dnalm(*args)
    assert not list(tmp_path.glob(".out.partial-*")) and not list((tmp_path / "out").glob(".*"))
    assert len(read_tsv(tmp_path / "out" / "variant_effects.tsv")) == len(read_tsv(tmp / "out" / "variant_effects.tsv"))


@pytest.fixture(scope="module")
def mutagenesis(tmp_path_factory, human_genome, pretrained):
    tmp = tmp_path_factory.mktemp("mutagenesis")
    (tmp / "regions.bed").write_text(f"{CONTIG}\t20000\t20030\n{CONTIG}\t300000\t300025\n")
    dnalm("saturation-mutagenesis", "--model", pretrained / "model" / "model", "--genome", human_genome,
          "--regions", tmp / "regions.bed", "--window", 200, "--maps", 1, "--out", tmp / "out")
    return tmp


def test_mutagenesis_scores_the_three_snvs_of_every_position_as_variant_effects_does(mutagenesis, human_genome,
                                                                                     pretrained, sequence):
    rows = read_tsv(mutagenesis / "out" / "mutagenesis.tsv")
    assert len(rows) == 3 * (30 + 25)
    for r in rows:
        assert r["ref"] == base(sequence, int(r["pos"]) - 1) and r["alt"] != r["ref"]
    assert {(r["pos"], r["alt"]) for r in rows} == {(r["pos"], b) for r in rows for b in "ACGT" if b != r["ref"]}
    positions = read_tsv(mutagenesis / "out" / "positions.tsv")
    assert len(positions) == 55
    first = [float(r["mlm_llr"]) for r in rows[:3]]
    assert abs(float(positions[0]["mean_mlm_llr"]) - np.mean(first)) < 1e-4
    assert [p.name for p in (mutagenesis / "out" / "maps").iterdir()] == [f"{CONTIG}_20000_20030_mutations.png"]
    # the same SNVs through a VCF score the same
    picked = rows[::17]
    write_vcf(mutagenesis / "picked.vcf", [(CONTIG, int(r["pos"]) - 1, f"m{i}", r["ref"], r["alt"])
                                          for i, r in enumerate(picked)])
    dnalm("variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome, "--variants",
          mutagenesis / "picked.vcf", "--window", 200, "--out", mutagenesis / "picked")
    again = read_tsv(mutagenesis / "picked" / "variant_effects.tsv")
    for r, v in zip(picked, again):
        assert abs(float(r["mlm_llr"]) - float(v["mlm_llr"])) < 1e-4


def test_mutagenesis_refuses_long_regions_and_regions_in_gaps(tmp_path, human_genome, pretrained):
    model = pretrained / "model" / "model"
    cases = {"long": (f"{CONTIG}\t1000\t3000\n", f"{CONTIG}:1000-3000 is longer than --max-region-bp 1000"),
             "gap": (f"{CONTIG}\t{GAP - 10}\t{GAP + 10}\n", f"{CONTIG}:{GAP - 10}-{GAP + 10} is not inside one "
                                                             "N-free run")}
    for name, (bed, message) in cases.items():
        (tmp_path / f"{name}.bed").write_text(bed)
        err = dnalm_fails("saturation-mutagenesis", "--model", model, "--genome", human_genome, "--regions",
                          tmp_path / f"{name}.bed", "--out", tmp_path / name)
        assert message in err


def test_a_saved_classifier_scores_alleles_as_its_own_probabilities_say(scored, ctcf_classifier, human_genome,
                                                                        pretrained, sequence):
    """DNABERT's difference score and log-odds ratio, from an independent forward pass over both strands."""
    import pysam
    import torch
    from transformers import AutoModelForSequenceClassification

    from dnalm.evaluation.genome_tasks import reverse_complement
    from dnalm.vocab.vocabulary import SPECIAL_TOKENS, Vocabulary

    CLS, SEP = SPECIAL_TOKENS.index("[CLS]"), SPECIAL_TOKENS.index("[SEP]")
    tmp, records = scored
    classifier = ctcf_classifier / "ft" / "seed42" / "model"
    snvs = [r for r in records if r[2].startswith("snv") and "," not in r[4]][:6]
    write_vcf(tmp / "few.vcf", snvs)
    dnalm("variant-effects", "--model", pretrained / "model" / "model", "--classifier", classifier, "--genome",
          human_genome, "--variants", tmp / "few.vcf", "--window", 200, "--out", tmp / "with_classifier")
    rows = read_tsv(tmp / "with_classifier" / "variant_effects.tsv")
    vocab = Vocabulary.load(classifier)
    model = AutoModelForSequenceClassification.from_pretrained(classifier).eval()

    def p_bound(seq: str) -> float:
        ids = torch.tensor([[CLS, *vocab.encode(seq).tolist(), SEP]])
        with torch.no_grad():
            return float(torch.softmax(model(input_ids=ids).logits[0], -1)[1])

    for r in rows:
        pos = int(r["POS"]) - 1
        ref = base(sequence, pos - 99, 199)
        alt = ref[:99] + r["ALT"] + ref[100:]
        p = [[p_bound(s) for s in (ref, alt)], [p_bound(reverse_complement(s)) for s in (ref, alt)]]
        diff = np.mean([p[0][1] - p[0][0], p[1][1] - p[1][0]])
        logit = lambda x: np.log(x) - np.log(1 - x)  # noqa: E731
        log_odds = np.mean([logit(p[0][1]) - logit(p[0][0]), logit(p[1][1]) - logit(p[1][0])])
        assert abs(float(r["cls_diff"]) - diff) < 1e-5 and abs(float(r["cls_log_odds"]) - log_odds) < 1e-4
        assert r["mlm_llr"] != ""
    with pysam.VariantFile(str(tmp / "with_classifier" / "variant_effects.vcf.gz")) as vcf:
        assert {"cls_diff", "cls_log_odds", "mlm_llr"} <= set(vcf.header.info)
