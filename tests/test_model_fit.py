"""A model, its tokenizer and its head that do not fit together are refused by every command that reads them,
with one line naming the model, before any score is made (issue 31, classes 1, 2 and 5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import ASSETS, JASPAR, dnalm, dnalm_fails, read_tsv

from dnalm.vocab.vocabulary import TOKENIZER_FILES


def _model_with_tokenizer_of(tmp: Path, model: Path, vocab: Path) -> Path:
    """A copy of `model` whose tokenizer files were replaced by those of `vocab` (a user's mix-up)."""
    mixed = tmp / "mixed_model"
    shutil.copytree(model, mixed)
    for name in TOKENIZER_FILES:
        (mixed / name).unlink(missing_ok=True)
        if (vocab / name).is_file():
            shutil.copy(vocab / name, mixed / name)
    return mixed


def _same_size_other_tokens(tmp: Path, model: Path) -> Path:
    """A copy of `model` whose tokenizer has as many tokens but two of them swapped: the size matches the
    embedding, so only the recorded vocabulary tells them apart."""
    mixed = tmp / "swapped_model"
    shutil.copytree(model, mixed)
    tok = json.loads((mixed / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    longest = sorted(vocab, key=lambda t: (-len(t), t))[:2]
    vocab[longest[0]], vocab[longest[1]] = vocab[longest[1]], vocab[longest[0]]
    (mixed / "tokenizer.json").write_text(json.dumps(tok))
    return mixed


def _one_snv_vcf(tmp: Path) -> Path:
    """The first record of the bundled HapMap VCF: one real SNV of the window."""
    import gzip

    lines = gzip.open(ASSETS / "hapmap_exome_chr22_20-21Mb.vcf.gz", "rt").read().splitlines()
    header = [line for line in lines if line.startswith("#")]
    first = next(line for line in lines if not line.startswith("#"))
    (tmp / "one.vcf").write_text("\n".join([*header, first]) + "\n")
    return tmp / "one.vcf"


def _commands(model: Path, human_genome: Path, tasks: Path, nextkmer_data: Path, tmp: Path) -> dict[str, list]:
    """Each command that reads a model, as a user runs it on the test data (cheapest settings)."""
    (tmp / "regions.bed").write_text("chr22_20M_21M\t20000\t20010\n")
    return {
        "variant-effects": ["variant-effects", "--model", model, "--genome", human_genome, "--variants",
                            _one_snv_vcf(tmp), "--window", 200],
        "saturation-mutagenesis": ["saturation-mutagenesis", "--model", model, "--genome", human_genome,
                                   "--regions", tmp / "regions.bed", "--window", 200, "--maps", 1],
        "finetune": ["finetune", "--model", model, "--data", tasks / "ctcf", "--max-steps", 1],
        "nextkmer-finetune": ["nextkmer-finetune", "--model", model, "--data", nextkmer_data, "--k", 2,
                              "--max-steps", 1],
    }


@pytest.mark.parametrize("command, vocab", [
    ("variant-effects", "bpe_100"), ("saturation-mutagenesis", "kmer6"),  # the allele scorers' tokenizer
    ("finetune", "kmer6"), ("nextkmer-finetune", "bpe_100"),  # the classifiers'
])
def test_a_tokenizer_of_another_vocabulary_in_the_model_directory_is_refused(command, vocab, pretrained, vocabs,
                                                                            human_genome, tasks, nextkmer_data,
                                                                            tmp_path):
    mixed = _model_with_tokenizer_of(tmp_path, pretrained / "model" / "model", vocabs[vocab])
    args = _commands(mixed, human_genome, tasks, nextkmer_data, tmp_path)[command]
    error = dnalm_fails(*args, "--out", tmp_path / "out", logs=True)
    assert f"--model {mixed}: its tokenizer files" in error and "embedding has 609" in error


@pytest.mark.parametrize("command", ["variant-effects", "finetune"])
def test_a_tokenizer_of_the_right_size_but_other_tokens_is_refused(command, pretrained, human_genome, tasks,
                                                                   nextkmer_data, tmp_path):
    mixed = _same_size_other_tokens(tmp_path, pretrained / "model" / "model")
    args = _commands(mixed, human_genome, tasks, nextkmer_data, tmp_path)[command]
    error = dnalm_fails(*args, "--out", tmp_path / "out", logs=True)
    assert f"--model {mixed}: its tokenizer files" in error and "not the vocabulary the model was trained with" in error


def test_the_model_a_run_writes_records_its_vocabulary_and_passes_the_check(pretrained, ctcf_classifier):
    from dnalm.vocab.model_dir import VOCABULARY_FIELD, check_dnalm_tokenizer, vocabulary_digest

    for model in (pretrained / "model" / "model", ctcf_classifier / "ft" / "seed42" / "model"):
        recorded = json.loads((model / "config.json").read_text())[VOCABULARY_FIELD]
        assert recorded == vocabulary_digest(check_dnalm_tokenizer(model, "--model"))


def test_a_masked_lm_given_as_classifier_is_refused(pretrained, human_genome, tasks, tmp_path):
    masked_lm = pretrained / "model" / "model"
    error = dnalm_fails("variant-effects", "--model", masked_lm, "--genome", human_genome, "--variants",
                        _one_snv_vcf(tmp_path), "--window", 200, "--classifier", masked_lm,
                        "--out", tmp_path / "ve", logs=True)
    assert f"--classifier {masked_lm}: has no trained classification head (" in error and "classifier.weight" in error
    error = dnalm_fails("attention-motifs", "--classifier", masked_lm, "--data", tasks / "ctcf", "--jaspar", JASPAR,
                        "--out", tmp_path / "am", logs=True)
    assert f"--classifier {masked_lm}: has no trained classification head" in error


def test_a_classifier_given_as_masked_lm_is_refused(ctcf_classifier, human_genome, tokenized, windows, tmp_path):
    classifier = ctcf_classifier / "ft" / "seed42" / "model"
    error = dnalm_fails("variant-effects", "--model", classifier, "--genome", human_genome, "--variants",
                        _one_snv_vcf(tmp_path), "--window", 200, "--out", tmp_path / "ve", logs=True)
    assert f"--model {classifier}: has no trained masked-LM head (" in error
    error = dnalm_fails("mask-predictions", "--model", classifier, "--tokenized", tokenized["bpe_600"],
                        "--windows", windows["bpe_600"], "--samples", 10, "--out", tmp_path / "mp", logs=True)
    assert f"--model {classifier}: has no trained masked-LM head" in error


def test_the_fitting_classifier_still_scores(pretrained, ctcf_classifier, human_genome, tmp_path):
    dnalm("variant-effects", "--model", pretrained / "model" / "model", "--genome", human_genome, "--variants",
          _one_snv_vcf(tmp_path), "--window", 200, "--classifier", ctcf_classifier / "ft", "--out", tmp_path / "ve")
    row = read_tsv(tmp_path / "ve" / "variant_effects.tsv")[0]
    assert row["status"] == "scored" and row["mlm_llr"] != "" and row["cls_diff"] != ""


@pytest.mark.parametrize("command, ref, message", [
    ("variant-effects", "runs/bpe_600/model", "no such directory, and not a HuggingFace hub id (org/name)"),
    ("saturation-mutagenesis", "no-such-org/no-such-model", "cannot load its tokenizer"),
])
def test_a_missing_model_path_or_an_unreachable_hub_id_gets_one_line(command, ref, message, human_genome, tasks,
                                                                     nextkmer_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub is not reached from the tests: fail at once, not after retries
    args = _commands(Path(ref), human_genome, tasks, nextkmer_data, tmp_path)[command]
    error = dnalm_fails(*args, "--out", tmp_path / "out", logs=True)
    assert f"--model {ref}: " in error and message in error
