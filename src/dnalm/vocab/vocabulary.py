"""Vocabularies and the one encoder/decoder of raw DNA for every kind of vocabulary.

A vocabulary is a directory: HuggingFace `tokenizer.json` + `tokenizer_config.json` (so
`transformers.AutoTokenizer` loads it) and `dnalm_vocab.json` naming its kind:

- `bpe`: byte-pair encoding learned on the genome (GROVER);
- `kmer`: non-overlapping k-mers (GROVER's k-mer baselines);
- `kmer-overlap`: overlapping k-mers, stride 1 (DNABERT);
- `kmer-stride`: k-mers every `stride` bases (GenomeNet-BERT: 6-mers, stride 3).

All k-mer kinds are one rule: a k-mer starts every `stride` bases while one fits, then the bases left
after the last k-mer form one shorter tail token, so `decode(encode(seq)) == seq` for any sequence.
Every step encodes through `Vocabulary.encode`, never with k-mer code of its own.

Outside dnalm, `AutoTokenizer.from_pretrained(dir)` gives the same ids as `encode_lenient` on raw DNA of
either case: every `tokenizer.json` upper-cases a/c/g/t first. HF `tokenizers` cannot cut overlapping or
strided k-mers, so those directories also hold `tokenization_dnalm.py` (a `PreTrainedTokenizer` named in
`auto_map`, loaded with `trust_remote_code=True`) and its `vocab.txt`; their `tokenizer.json` reads
space-separated k-mers.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from dnalm.core.errors import InputError
from dnalm.core.outputs import write_json
from dnalm.vocab import _bpe

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
KINDS = ("bpe", "kmer", "kmer-overlap", "kmer-stride")
CONFIG = "dnalm_vocab.json"
MAX_LENGTH = 512
REMOTE_CODE = Path(__file__).with_name("tokenization_dnalm.py")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", CONFIG, "vocab.txt",
                   REMOTE_CODE.name)
"""Every file of a vocabulary directory: a model directory carries them all."""

_CODE = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i


@dataclass(frozen=True)
class Vocabulary:
    """A loaded vocabulary: `tokens[i]` is the string of id i."""

    path: Path
    name: str
    kind: str
    k: int | None
    stride: int | None
    tokens: tuple[str, ...]

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        path = Path(path)
        try:
            config = json.loads((path / CONFIG).read_text())
            tok = json.loads((path / "tokenizer.json").read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a dnalm vocabulary directory ({exc})") from None
        vocab = tok["model"]["vocab"]
        tokens = [""] * len(vocab)
        for token, i in vocab.items():
            tokens[i] = token
        return cls(path=path, name=config["name"], kind=config["kind"], k=config.get("k"),
                   stride=config.get("stride"), tokens=tuple(tokens))

    def __len__(self) -> int:
        return len(self.tokens)

    @cached_property
    def _hf(self) -> Tokenizer:
        return Tokenizer.from_file(str(self.path / "tokenizer.json"))

    @cached_property
    def _merge_table(self) -> np.ndarray | None:
        """(left, right, new) ids in rank order for dnalm.vocab._bpe.encode; None where only HF's encoder is exact.

        The linear-time encoder relies on every merge creating a new string and on A, C, G, T having
        ids 5-8 (dnalm's layout); a vocabulary from elsewhere that breaks either is encoded by HF.
        """
        model = json.loads((self.path / "tokenizer.json").read_text())["model"]
        ids = model["vocab"]
        merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
        rows = np.array([(ids[a], ids[b], ids[a + b]) for a, b in merges], dtype=np.int32).reshape(-1, 3)
        if len(set(rows[:, 2].tolist())) < len(rows) or [ids.get(b) for b in "ACGT"] != [5, 6, 7, 8]:
            return None
        return rows

    @cached_property
    def token_lengths(self) -> np.ndarray:
        """Bases per token id (0 for special tokens)."""
        return np.array([0 if t in SPECIAL_TOKENS else len(t) for t in self.tokens], dtype=np.int64)

    @property
    def dtype(self) -> np.dtype:
        """The smallest unsigned integer type that holds every id."""
        return np.dtype(np.uint16 if len(self) <= 1 << 16 else np.uint32)

    def encode(self, seq: str | bytes, threads: int = 1) -> np.ndarray:
        """Token ids of an A/C/G/T sequence, without special tokens (BPE: `threads` for long sequences)."""
        raw = seq.encode() if isinstance(seq, str) else bytes(seq)
        if self.kind == "bpe":
            return self._bpe_ids(raw, threads)
        return _kmer_ids(raw, self.k, self.stride).astype(self.dtype)

    def encode_pieces(self, seq: bytes, piece_bp: int, threads: int = 1) -> np.ndarray:
        """Token ids of one run; with `piece_bp`, encoded piece by piece (bounded memory) with the same result.

        k-mer kinds split exactly at multiples of the stride. For BPE, a boundary that the whole-run
        encoding has splits it into independent halves (no merge crosses it, so both sides merge alone as
        they would together). Each piece is encoded with `margin` bases of right context and twice as much;
        the last token boundary before the piece end on which both encodings agree, with identical tokens
        up to it, is taken as such a boundary. Where none is found the margin doubles.
        """
        if not piece_bp or len(seq) <= piece_bp:
            return self.encode(seq, threads)
        if self.kind != "bpe":
            return self._kmer_pieces(seq, piece_bp)
        parts, pos, margin = [], 0, max(piece_bp // 10, 64)
        while len(seq) - pos > piece_bp:
            cut = self._bpe_cut(seq, pos, piece_bp, margin)
            if cut is None:
                margin *= 2
                continue
            ids, cut_bp = cut
            parts.append(ids)
            pos += cut_bp
        parts.append(self.encode(seq[pos:]))
        return np.concatenate(parts)

    def _kmer_pieces(self, seq: bytes, piece_bp: int) -> np.ndarray:
        step = max(piece_bp // self.stride, 1) * self.stride
        overlap = self.k - self.stride
        parts, pos = [], 0
        while pos < len(seq):
            end = pos + step + overlap
            if end >= len(seq):
                parts.append(self.encode(seq[pos:]))
                break
            parts.append(self.encode(seq[pos:end]))
            pos += step
        return np.concatenate(parts)

    def _bpe_cut(self, seq: bytes, pos: int, piece_bp: int, margin: int) -> tuple[np.ndarray, int] | None:
        near = self.encode(seq[pos:pos + piece_bp + margin])
        far = self.encode(seq[pos:pos + piece_bp + 2 * margin])
        n = min(len(near), len(far))
        same = np.flatnonzero(near[:n] != far[:n])
        agree = int(same[0]) if len(same) else n
        ends = np.cumsum(self.token_lengths[near[:agree].astype(np.int64)])
        inside = np.flatnonzero(ends <= piece_bp)
        # Keep one agreeing token after the cut, so the boundary itself is confirmed by both encodings.
        inside = inside[inside + 1 < agree]
        if not len(inside):
            return None
        last = int(inside[-1])
        return near[: last + 1], int(ends[last])

    def encode_lenient(self, seq: str) -> np.ndarray:
        """Like `encode`, but each base other than A/C/G/T (N, IUPAC codes in task files) becomes [UNK]."""
        unk = SPECIAL_TOKENS.index("[UNK]")
        parts, last = [], 0
        for match in re.finditer(r"[^ACGT]", seq):
            parts += [self.encode(seq[last:match.start()]), np.array([unk], dtype=self.dtype)]
            last = match.end()
        parts.append(self.encode(seq[last:]))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _bpe_ids(self, raw: bytes, threads: int) -> np.ndarray:
        if self._merge_table is None:
            return np.asarray(self._hf.encode(raw.decode(), add_special_tokens=False).ids, dtype=self.dtype)
        out = np.empty(len(raw), dtype=np.uint32)
        try:
            n = _bpe.encode(raw, self._merge_table, out, threads)
        except ValueError:
            bad = next(chr(c) for c in raw if c not in b"ACGT")
            raise InputError(f"cannot encode {bad!r}: BPE vocabularies take A/C/G/T only") from None
        return out[:n].astype(self.dtype)

    def decode(self, ids: np.ndarray | list[int]) -> str:
        """The DNA sequence of ids produced by `encode` (inverse of `encode`)."""
        tokens = [self.tokens[i] for i in np.asarray(ids).tolist()]
        if self.kind == "bpe" or not tokens:
            return "".join(tokens)
        k, keep = self.k, self.stride
        out = [tokens[0]]
        for t in tokens[1:]:
            out.append(t[k - keep:] if len(t) == k else t)
        return "".join(out)

    def token_spans(self, ids: np.ndarray, first: int = 0, first_bp: int = 0,
                    ends_sequence: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (bp, relative to the sequence start) of each token of `encode(seq)`.

        For a slice of a longer encoding (memory-bounded passes over a chromosome): `first` is the index of
        `ids[0]` in it, `first_bp` where that token starts (BPE), and `ends_sequence` whether the slice
        holds its last token (a k-mer tail starts where the last full k-mer ends, not a stride later)."""
        lengths = self.token_lengths[np.asarray(ids, dtype=np.int64)]
        if self.kind == "bpe":
            ends = first_bp + np.cumsum(lengths)
            return ends - lengths, ends
        n = len(lengths)
        starts = (first + np.arange(n, dtype=np.int64)) * self.stride
        if ends_sequence and n and lengths[-1] < self.k and first + n > 1:
            starts[-1] = (first + n - 2) * self.stride + self.k
        return starts, starts + lengths


def encode(vocab_dir: Path, seq: str | bytes) -> np.ndarray:
    """Token ids of `seq` under the vocabulary stored in `vocab_dir`."""
    return Vocabulary.load(vocab_dir).encode(seq)


def decode(vocab_dir: Path, ids: np.ndarray | list[int]) -> str:
    """The sequence of `ids` under the vocabulary stored in `vocab_dir`."""
    return Vocabulary.load(vocab_dir).decode(ids)


def kmer_tokens(k: int) -> list[str]:
    """Ids of k-mer vocabularies: specials, all 4^k k-mers, then the shorter tails (length 1..k-1)."""
    tokens = list(SPECIAL_TOKENS)
    for length in [k] + list(range(1, k)):
        tokens += _all_words(length)
    return tokens


def _all_words(length: int) -> list[str]:
    words = [""]
    for _ in range(length):
        words = [w + b for w in words for b in "ACGT"]
    return words


def _kmer_offsets(k: int) -> dict[int, int]:
    """First id of the words of each length, following `kmer_tokens`."""
    offsets, nxt = {k: len(SPECIAL_TOKENS)}, len(SPECIAL_TOKENS) + 4 ** k
    for length in range(1, k):
        offsets[length] = nxt
        nxt += 4 ** length
    return offsets


def _kmer_ids(raw: bytes, k: int, stride: int) -> np.ndarray:
    codes = _CODE[np.frombuffer(raw, dtype=np.uint8)].astype(np.int64)
    if (codes == 255).any():
        bad = raw[int(np.flatnonzero(codes == 255)[0])]
        raise InputError(f"cannot encode {chr(bad)!r}: k-mer vocabularies take A/C/G/T only")
    n = len(codes)
    offsets = _kmer_offsets(k)
    n_full = (n - k) // stride + 1 if n >= k else 0
    ids = np.empty(n_full + 1, dtype=np.int64)
    if n_full:
        value = np.zeros(n - k + 1, dtype=np.int64)
        for j in range(k):
            value = value * 4 + codes[j:j + n - k + 1]
        ids[:n_full] = offsets[k] + value[::stride][:n_full]
    tail_start = (n_full - 1) * stride + k if n_full else 0
    if tail_start >= n:
        return ids[:n_full]
    tail = 0
    for c in codes[tail_start:].tolist():
        tail = tail * 4 + c
    ids[n_full] = offsets[n - tail_start] + tail
    return ids


def _post_processor() -> processors.TemplateProcessing:
    return processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", SPECIAL_TOKENS.index("[CLS]")), ("[SEP]", SPECIAL_TOKENS.index("[SEP]"))])


def _upper_case() -> normalizers.Sequence:
    """a/c/g/t to upper case (`tokenizers` has no upper-case normalizer); other letters are [UNK] either way."""
    return normalizers.Sequence([normalizers.Replace(b.lower(), b) for b in "ACGT"])


def save_vocabulary(tokenizer: Tokenizer, out: Path, name: str, kind: str, k: int | None = None,
                    stride: int | None = None, **extra: int) -> Path:
    """Write a vocabulary directory loadable by `Vocabulary.load` and `AutoTokenizer`."""
    if kind not in KINDS:
        raise ValueError(kind)
    out.mkdir(parents=True, exist_ok=False)
    tokenizer.normalizer = _upper_case()
    tokenizer.post_processor = _post_processor()
    specials = dict(zip(["pad_token", "unk_token", "cls_token", "sep_token", "mask_token"], SPECIAL_TOKENS))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": MAX_LENGTH, **specials}
    if kind in ("bpe", "kmer"):
        tokenizer.decoder = decoders.Fuse()  # decode() gives the sequence, not tokens joined by spaces
    else:
        vocab = tokenizer.get_vocab()
        (out / "vocab.txt").write_text("".join(t + "\n" for t in sorted(vocab, key=vocab.get)))
        shutil.copy(REMOTE_CODE, out / REMOTE_CODE.name)
        config.update(tokenizer_class="DnaKmerTokenizer", k=k, stride=stride,
                      auto_map={"AutoTokenizer": [f"{REMOTE_CODE.stem}.DnaKmerTokenizer", None]})
    tokenizer.save(str(out / "tokenizer.json"))
    write_json(out / "tokenizer_config.json", config)
    write_json(out / "special_tokens_map.json", specials)
    write_json(out / CONFIG, {"name": name, "kind": kind, "k": k, "stride": stride, **extra})
    return out


def kmer_vocabulary(out: Path, kind: str, k: int, stride: int | None = None) -> Path:
    """Build a fixed k-mer vocabulary directory (`kmer`, `kmer-overlap` or `kmer-stride`)."""
    if not 1 <= k <= 8:
        raise InputError(f"--k {k}: must be between 1 and 8")
    stride = {"kmer": k, "kmer-overlap": 1}.get(kind, stride)
    if stride is None or not 1 <= stride <= k:
        raise InputError(f"--stride {stride}: kind {kind} needs a stride between 1 and k={k}")
    vocab = {t: i for i, t in enumerate(kmer_tokens(k))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    if kind == "kmer":  # a base other than A/C/G/T is one [UNK] and ends the k-mers before it, as in encode_lenient
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(f"[ACGT]{{1,{k}}}|[^ACGT]"), behavior="isolated")
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return save_vocabulary(tokenizer, out, name=kmer_vocabulary_name(kind, k, stride), kind=kind, k=k, stride=stride)


def kmer_vocabulary_name(kind: str, k: int, stride: int | None = None) -> str:
    """kmer4, kmer6_overlap, kmer6_stride3: `dnalm kmer-vocab` names its output so, and the workflow takes the
    vocabulary's id from that directory's name."""
    return {"kmer": f"kmer{k}", "kmer-overlap": f"kmer{k}_overlap"}.get(kind, f"kmer{k}_stride{stride}")
