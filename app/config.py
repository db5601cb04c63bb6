"""Settings: one object, read from LAYERWALK_* environment variables. Every field is documented in the README."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from models.registry import WEIGHTS_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAYERWALK_")

    weights_dir: Path = Field(
        default=WEIGHTS_DIR,
        description="Folder holding the models to serve (ID.json + ID.safetensors pairs).",
    )
    model_dirs: Annotated[list[Path], NoDecode] = Field(
        default=[],
        description="Your own Hugging Face folders to serve as well (GPT-2 and BERT architectures: config.json, "
        f"model.safetensors, tokenizer.json), separated by '{os.pathsep}' like PATH. Each listed folder holding "
        "config.json is one model, else each folder directly inside it that holds one; a model's id is its folder's "
        "name. A folder that cannot be served is logged at start-up and listed in GET /api/models as unavailable.",
    )
    root_path: str = Field(
        default="",
        pattern=r"^(/[A-Za-z0-9._~-]+)*$",
        description="The path prefix a reverse proxy serves the app under, e.g. /layerwalk (the proxy strips it); "
        "every link, static file and API call the pages make includes it.",
    )
    max_body_bytes: int = Field(
        default=16_384,
        ge=256,
        description="Largest request body accepted, in bytes; a larger one gets 413.",
    )
    cache_bytes: int = Field(
        default=24 * 2**20,
        ge=0,
        description="Bytes of serialised forward passes kept, so a sampling slider does not rerun the model; "
        "0 keeps none.",
    )
    max_active_requests: int = Field(
        default=256,
        ge=1,
        description="API requests one worker handles at once; one more gets 503 with Retry-After (pages, static "
        "files and /healthz are not counted).",
    )

    train_runs: int = Field(
        default=4,
        ge=0,
        description="Live training runs (POST /api/train) going at once, each in a process of its own; one more "
        "gets 429 with Retry-After. 0 turns live training off.",
    )
    train_time_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a live training run may take; it is then stopped (its stream ends with a 'stopped' "
        "event).",
    )
    train_warm: int = Field(
        default=1,
        ge=0,
        description="Training processes started ahead, loaded and waiting for a run, so a run starts at once "
        "(about 3 s sooner) at the cost of their memory (about 300 MB each); 0 starts each run's process when asked.",
    )

    redis_url: str = Field(
        default="",
        description="Redis for class sessions, e.g. redis://redis:6379/0: sessions, polls and their updates then go "
        "through it (keys with expiry, pub/sub), so the pages of a class may be served by any replica or worker. "
        "Empty (the default): sessions live in the server's memory, which needs a single process (WORKERS=1).",
    )
    class_idle_s: float = Field(
        default=5400.0,
        gt=0,
        description="Seconds a class session lasts after the lecturer's last action (a view, a poll); then its "
        "code stops working and its pages are told the class ended.",
    )
    class_join_tries: int = Field(
        default=100,
        ge=1,
        description="Unknown join codes one address may try a minute (and classes it may start); past it, the address "
        "gets 429 with Retry-After for every code, so codes cannot be found by trying them. The lecturer (with the "
        "secret) and answers to the current poll are never refused: a hall behind one address keeps its lecture.",
    )
    class_max_sessions: int = Field(
        default=200,
        ge=1,
        description="Class sessions kept in memory at once (without Redis); one more start gets 503.",
    )
    class_max_followers: int = Field(
        default=2000,
        ge=1,
        description="Pages one server process streams class updates to at once; one more gets 503 with Retry-After "
        "(these streams are not counted in LAYERWALK_MAX_ACTIVE_REQUESTS: they cost no model time).",
    )

    @field_validator("model_dirs", mode="before")
    @classmethod
    def _split_like_path(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part]
        return value

    cors_origins: list[str] = Field(
        default=[],
        description="Other origins whose pages may call the API from a browser (CORS), as a JSON list, e.g. "
        '["https://course.example.org"]; empty (the default) sends no CORS headers, so only our own pages can.',
    )
