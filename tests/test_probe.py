"""The frozen-embedding probe: its vectors are the model's own hidden states pooled as documented, its
regularisation is the one validation chose, and bad input gets one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import dnalm, dnalm_fails, read_csv, read_tsv

from dnalm.evaluation.finetune import SequenceTokenizer
from dnalm.evaluation.probe import embed
from dnalm.evaluation.task_data import Split
from dnalm.vocab.model_dir import load_pretrained

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def probes(tasks, pretrained, tmp_path_factory):
    base = tmp_path_factory.mktemp("probe")
    model = pretrained / "model" / "model"
    dnalm("embedding-probe", "--model", model, "--data", tasks / "prom300", "--out", base / "mean")
    dnalm("embedding-probe", "--model", model, "--data", tasks / "prom300", "--pooling", "cls", "--layer", "1",
          "--model-id", "tiny", "--out", base / "cls")
    return base


def test_the_probe_reports_like_every_result_and_keeps_the_c_validation_chose(probes, tasks):
    for name, layer in (("mean", 2), ("cls", 1)):
        metrics = json.loads((probes / name / "metrics.json").read_text())
        assert metrics["kind"] == "probe" and metrics["pooling"] == name and metrics["layer"] == layer
        assert metrics["task"] == "prom300" and metrics["test_samples"] == len(read_csv(tasks / "prom300" / "test.csv"))
        table = read_tsv(probes / name / "regularisation.tsv")
        assert len(table) == 6
        best = max(float(r["validation_score"]) for r in table)
        chosen = next(r for r in table if float(r["validation_score"]) == best)  # ties: the smaller C
        assert float(chosen["C"]) == metrics["C"]
        predictions = read_tsv(probes / name / "predictions.tsv")
        assert np.mean([r["label"] == r["predicted"] for r in predictions]) == pytest.approx(metrics["accuracy"])
    assert json.loads((probes / "cls" / "metrics.json").read_text())["model"] == "probe_tiny"


def test_mean_pooling_is_the_mean_hidden_state_of_the_sequences_own_tokens(pretrained, tasks):
    """Against the model run by hand: the mean of the chosen layer over the tokens between [CLS] and [SEP], and
    for a sequence cut into pieces, over all its pieces' tokens."""
    import torch

    model_dir = pretrained / "model" / "model"
    tokenizer = SequenceTokenizer(str(model_dir))
    model = load_pretrained("AutoModel", model_dir, "--model")
    seqs = [r["sequence"] for r in read_csv(tasks / "prom300" / "test.csv")[:3]]
    vectors = embed(model, tokenizer, Split(seqs, np.zeros(3, dtype=np.int64)), 1, "mean", batch_size=2)
    long_seq = seqs[0] * 20  # longer than the tiny model's positions: read in pieces
    pieces = embed(model, tokenizer, Split([long_seq], np.zeros(1, dtype=np.int64)), 1, "mean", batch_size=4)
    with torch.no_grad():
        for seq, vector in zip(seqs, vectors):
            ids = tokenizer(seq)
            states = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[1][0]
            np.testing.assert_allclose(vector, states[1:-1].mean(0).numpy(), rtol=1e-4, atol=1e-5)
        body = tokenizer.parts(long_seq)[1]
        width = model.config.max_position_embeddings - 2
        assert len(body) > width
        total = np.zeros(model.config.hidden_size)
        for lo in range(0, len(body), width):
            ids = tokenizer.parts(long_seq)[0] + body[lo:lo + width] + tokenizer.parts(long_seq)[2]
            total += model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states[1][0][1:-1].sum(0).numpy()
    np.testing.assert_allclose(pieces[0], total / len(body), rtol=1e-4, atol=1e-5)


def test_bad_probe_input_gets_one_line(pretrained, tasks, tmp_path):
    model = pretrained / "model" / "model"
    assert "--layer 9" in dnalm_fails("embedding-probe", "--model", model, "--data", tasks / "prom300", "--layer", "9",
                                      "--out", tmp_path / "a", logs=True)
    assert "--pooling" in dnalm_fails("embedding-probe", "--model", model, "--data", tasks / "prom300",
                                      "--pooling", "max", "--out", tmp_path / "b")
    assert "--model" in dnalm_fails("embedding-probe", "--model", tmp_path / "absent", "--data", tasks / "prom300",
                                    "--out", tmp_path / "c")
