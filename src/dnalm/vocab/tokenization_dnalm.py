"""A HuggingFace tokenizer for overlapping and strided k-mers, shipped inside each such vocabulary and model.

HF `tokenizers` cannot cut overlapping k-mers from raw text, so a `tokenizer.json` alone would read
raw DNA as one unknown word. This file is copied into every `kmer-overlap`/`kmer-stride` vocabulary and
model directory and named in `tokenizer_config.json`'s `auto_map`, as DNABERT-2 ships its model code:
`AutoTokenizer.from_pretrained(dir, trust_remote_code=True)` then splits raw DNA itself, exactly as
`dnalm.vocab.vocabulary.Vocabulary.encode_lenient` does (upper-case first; every base other than A/C/G/T is one
[UNK]; a k-mer starts every `stride` bases while one fits, then the bases left form one shorter tail).
It imports nothing from dnalm: users of a published model need only `transformers`.
"""

from __future__ import annotations

import os
import re

from transformers import PreTrainedTokenizer

VOCAB_FILE = "vocab.txt"
_RUNS = re.compile(r"[ACGT]+|[^ACGT]")


class DnaKmerTokenizer(PreTrainedTokenizer):
    """Raw DNA to k-mers every `stride` bases (stride 1: DNABERT's overlapping k-mers)."""

    vocab_files_names = {"vocab_file": VOCAB_FILE}
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(self, vocab_file: str, k: int, stride: int, unk_token: str = "[UNK]", sep_token: str = "[SEP]",
                 pad_token: str = "[PAD]", cls_token: str = "[CLS]", mask_token: str = "[MASK]", **kwargs):
        with open(vocab_file, encoding="utf-8") as handle:
            self.vocab = {line.rstrip("\n"): i for i, line in enumerate(handle)}
        self.ids_to_tokens = {i: t for t, i in self.vocab.items()}
        self.k, self.stride = int(k), int(stride)
        super().__init__(k=self.k, stride=self.stride, unk_token=unk_token, sep_token=sep_token,
                         pad_token=pad_token, cls_token=cls_token, mask_token=mask_token, **kwargs)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab, **self.added_tokens_encoder)

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        tokens: list[str] = []
        for run in _RUNS.findall(text.upper()):
            tokens += self._kmers(run) if run[0] in "ACGT" else [self.unk_token]
        return tokens

    def _kmers(self, run: str) -> list[str]:
        k, stride = self.k, self.stride
        n_full = (len(run) - k) // stride + 1 if len(run) >= k else 0
        kmers = [run[i * stride:i * stride + k] for i in range(n_full)]
        tail = (n_full - 1) * stride + k if n_full else 0
        return kmers + ([run[tail:]] if tail < len(run) else [])

    def _convert_token_to_id(self, token: str) -> int:
        return self.vocab.get(token, self.vocab[self.unk_token])

    def _convert_id_to_token(self, index: int) -> str:
        return self.ids_to_tokens.get(index, self.unk_token)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """The sequence again: each full k-mer after the first adds its last `stride` bases."""
        out = tokens[:1]
        out += [t[self.k - self.stride:] if len(t) == self.k else t for t in tokens[1:]]
        return "".join(out)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        return cls + token_ids_0 + sep + (token_ids_1 + sep if token_ids_1 is not None else [])

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            return [int(i in self.all_special_ids) for i in token_ids_0]
        mask = [1] + [0] * len(token_ids_0) + [1]
        return mask + ([0] * len(token_ids_1) + [1] if token_ids_1 is not None else [])

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        first = [0] * (len(token_ids_0) + 2)
        return first + ([1] * (len(token_ids_1) + 1) if token_ids_1 is not None else [])

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        path = os.path.join(save_directory, (filename_prefix + "-" if filename_prefix else "") + VOCAB_FILE)
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(self.ids_to_tokens[i] + "\n" for i in range(len(self.ids_to_tokens)))
        return (path,)
