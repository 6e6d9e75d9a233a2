"""The embedding model as an int8 ONNX graph run by ONNX Runtime: the same weights, ~4x less CPU a query.

Built once, offline, from the local sentence-transformers folder (`python -m qa.embed.prepare` at `make setup`,
or on first use): the transformer with its mean pooling and L2 normalization is exported to ONNX by torch,
then its matrix multiplications are quantized to int8 with ONNX Runtime's dynamic quantization (weights per
output channel, activations per call). The tokenizer is the folder's own `tokenizer.json`, so token ids are
identical to the sentence-transformers path.

Why not sentence-transformers' own ONNX/OpenVINO backend: it needs optimum-onnx (which requires
transformers < 4.58) or optimum-intel (transformers 5.5 and a CUDA torch), while the project pins
transformers 5.23 and the CPU torch. The export here uses only torch and onnxruntime; the retrieval quality
of the result against fp32 is measured in bench/embed_quality.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.embed.folders import build_once
from qa.embed.offline_e5 import resolve_model
from qa.embed.prompted import PromptedEmbedder
from qa.errors import ModelUnavailable

# Bump when the export or the quantization changes, so stale builds are rebuilt.
EXPORT_FORMAT = 1
MODEL_FILE = "model_qint8.onnx"
_MARKER = "qa_onnx_build.json"
_INPUTS = ("input_ids", "attention_mask")


def _read_json(path: Path) -> dict[str, object]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _check_mean_pooling(source: Path) -> None:
    """The exported graph pools by the mean of the token vectors and normalizes, as e5 does; any other
    pooling would give vectors unlike the model's own."""
    modules = json.loads((source / "modules.json").read_text(encoding="utf-8"))
    types = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    pooling = next((m for m in modules if str(m.get("type", "")).endswith("Pooling")), None)
    config = _read_json(source / str(pooling.get("path", "")) / "config.json") if pooling else {}
    if types != ["Transformer", "Pooling", "Normalize"] or not config.get("pooling_mode_mean_tokens"):
        raise ModelUnavailable(
            f"the int8 ONNX embedding backend supports transformer + mean pooling + normalize models; {source} is "
            f"{' + '.join(types)}: set QA_EMBED_BACKEND=torch"
        )


def _source_id(source: Path) -> dict[str, object]:
    weights = next((source / n for n in ("model.safetensors", "pytorch_model.bin") if (source / n).is_file()), None)
    if weights is None:
        raise ModelUnavailable(f"no model weights in {source}")
    st = weights.stat()
    return {"source": str(source), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "format": EXPORT_FORMAT}


def _is_complete(folder: Path, source: Path) -> bool:
    return (folder / MODEL_FILE).is_file() and _to_seconds(_read_json(folder / _MARKER)) == _to_seconds(
        _source_id(source)
    )


def _to_seconds(source_id: dict[str, object]) -> dict[str, object]:
    """The source's mtime to the whole second: copying a Docker image layer (COPY --from, a registry push and
    pull) keeps mtimes to the second only, and the build is no less current for it."""
    mtime = source_id.get("mtime_ns")
    return {**source_id, "mtime_ns": mtime // 1_000_000_000 if isinstance(mtime, int) else None}


def _export(source: Path, folder: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    class MeanPooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    model = MeanPooled(AutoModel.from_pretrained(str(source), local_files_only=True, add_pooling_layer=False)).eval()
    example = (torch.tensor([[0, 100, 200, 2]]), torch.ones(1, 4, dtype=torch.long))
    fp32 = folder / "model_fp32.onnx"
    axes = {"batch": 0, "tokens": 1}
    with torch.inference_mode():
        torch.onnx.export(
            model,
            example,
            str(fp32),
            input_names=list(_INPUTS),
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {v: k for k, v in axes.items()},
                "attention_mask": {v: k for k, v in axes.items()},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    quantize_dynamic(str(fp32), str(folder / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True)
    fp32.unlink()
    for name in ("tokenizer.json", "config_sentence_transformers.json", "sentence_bert_config.json"):
        if (source / name).is_file():
            shutil.copy2(source / name, folder / name)
    # the marker goes last: its presence means the rest is complete
    (folder / _MARKER).write_text(json.dumps(_source_id(source)), encoding="utf-8")


def build_onnx_int8(source: Path, dest: Path) -> Path:
    """Export and quantize the sentence-transformers folder `source` into `dest` once; return `dest`
    (`qa.embed.folders.build_once`, like the model folder itself)."""
    if _is_complete(dest, source):
        return dest
    _check_mean_pooling(source)
    return build_once(dest, lambda folder: _is_complete(folder, source), lambda tmp: _export(source, tmp))


def onnx_int8_folder(model: str, cache_dir: Path) -> Path:
    """Where the int8 build of the configured embedding model lives (built if missing)."""
    source = Path(resolve_model(model, cache_dir))
    if not source.is_dir():
        raise ModelUnavailable(f"embedding model {model!r} has no local folder to export from")
    if source.parent != Path(cache_dir) / "models":  # a folder elsewhere: keep builds of same-named folders apart
        name = f"{source.name}-{hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:8]}"
    else:
        name = source.name
    return build_onnx_int8(source, Path(cache_dir) / "models" / f"{name}-onnx-int8")


class OnnxInt8Embedder(PromptedEmbedder):
    """`Embedder` over the int8 ONNX build of the configured model (`QA_EMBED_BACKEND=onnx-int8`)."""

    def __init__(self, model_name: str, folder: Path, *, batch_size: int, embed_title: bool, threads: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_name = model_name
        self._batch_size = batch_size
        st_config = _read_json(folder / "config_sentence_transformers.json")
        prompts = st_config.get("prompts")
        # No query micro-batching here: dynamic quantization scales a call's activations by their range over the
        # whole batch, so a query's vector would depend on the queries batched with it (cosine 0.997 between the
        # two), and a question's ranking on the traffic around it. Each query runs alone, and concurrent queries
        # run in parallel (ONNX Runtime releases the GIL); batching gained ~15% a query here anyway.
        super().__init__(prompts if isinstance(prompts, dict) else {}, embed_title=embed_title, batch_window_s=None)
        max_tokens = int(_read_json(folder / "sentence_bert_config.json").get("max_seq_length", 512))  # type: ignore[call-overload]
        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            # a spinning pool burns the core another request needs; under contention it collapses
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            self._session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelUnavailable(f"could not load the int8 ONNX embedding model from {folder}: {exc}") from exc
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        pad = self._tokenizer.token_to_id("<pad>")
        self._pad_id = 1 if pad is None else pad
        self.dim: int = int(self._run_model(["dim"]).shape[1])

    def _run_model(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode(self, inputs: Sequence[str]) -> np.ndarray:
        """Prompted strings → unit vectors, in batches of similar length (less padding)."""
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
        out = np.empty((len(inputs), self.dim), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._run_model([inputs[i] for i in rows])
        return out
