"""What the stack runs and where: its configuration, the model, the auth mode, the options."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PARTS = ("temporal", "redis", "fake-llm", "worker-llm", "worker-tools", "api")
#: parts that ``--without`` may leave out (temporal: then ``TEMPORAL_ADDRESS`` is used)
OPTIONAL_PARTS = ("temporal", "worker-llm", "worker-tools", "api")
DEFAULT_TEMPORAL_PORT = 7233
DEFAULT_API_PORT = 8000
FAKE_MODEL = "openai/fake-agent"

#: environment variables holding a provider key that litellm reads by itself
PROVIDER_KEYS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "COHERE_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "TOGETHERAI_API_KEY",
    "TOGETHER_API_KEY",
    "FIREWORKS_AI_API_KEY",
    "XAI_API_KEY",
    "PERPLEXITYAI_API_KEY",
    "HUGGINGFACE_API_KEY",
    "HF_TOKEN",
    "REPLICATE_API_KEY",
    "DATABRICKS_API_KEY",
    "CEREBRAS_API_KEY",
    "NVIDIA_NIM_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "VERTEXAI_PROJECT",
)


class StackError(Exception):
    """The stack cannot start as configured; the message says what to do."""


@dataclass(frozen=True)
class StackConfig:
    """What to run and where. ``None`` ports take the defaults; ``0`` means any free port.

    ``temporal_port`` ``None``: 7233, or a free port if 7233 is taken.
    ``temporal_ui_port`` ``None``: the Temporal port + 1000, or a free one if taken.
    ``redis_port`` ``None``/``0``: a free port (only for the private redis-server).
    ``api_host``/``api_port`` ``None``: ``API_HOST``/``API_PORT`` or 127.0.0.1:8000;
    the gateway's port must be free (clients and the demo expect it there).
    """

    data_dir: Path = Path("data")
    api_host: str | None = None
    api_port: int | None = None
    temporal_port: int | None = None
    temporal_ui_port: int | None = None
    temporal_ui: bool = True
    redis_port: int | None = None
    without: frozenset[str] = frozenset()
    fake_llm: bool = False
    ready_timeout: float = 120.0
    color: bool | None = None

    def __post_init__(self) -> None:
        unknown = set(self.without) - set(OPTIONAL_PARTS)
        if unknown:
            raise StackError(
                f"--without takes {', '.join(OPTIONAL_PARTS)}; not {', '.join(sorted(unknown))}"
            )


@dataclass(frozen=True)
class ModelChoice:
    """Which model the workers use, and what to tell the user about it."""

    fake: bool
    model: str | None
    notes: tuple[str, ...] = ()


def _has_key(env: Mapping[str, str]) -> str | None:
    for name in ("LLM_API_KEY", *PROVIDER_KEYS):
        if env.get(name, "").strip():
            return name
    return None


def choose_model(env: Mapping[str, str], force_fake: bool = False) -> ModelChoice:
    """A configured model (``LLM_MODEL`` plus a key litellm can use), else the fake LLM."""
    model = env.get("LLM_MODEL", "").strip()
    key = _has_key(env)
    if force_fake:
        return ModelChoice(True, None, ("--fake-llm given: using the fake LLM",))
    if model:
        if key is None and not env.get("LLM_API_BASE"):
            return ModelChoice(
                False,
                model,
                (
                    f"LLM_MODEL={model} but no API key is set (LLM_API_KEY or a provider "
                    "key such as OPENAI_API_KEY): calls will fail unless the provider needs none",
                ),
            )
        return ModelChoice(False, model)
    notes: list[str] = []
    if key is not None:
        notes.append(
            f"{key} is set but LLM_MODEL is not: set LLM_MODEL (e.g. openai/gpt-4o-mini, "
            "anthropic/claude-3-5-haiku-latest) to use a real model"
        )
    return ModelChoice(True, None, tuple(notes))


def dev_mode(env: Mapping[str, str]) -> bool:
    """The gateway runs without auth unless keys are configured (or API_DEV_MODE says)."""
    explicit = env.get("API_DEV_MODE", "").strip().lower()
    if explicit:
        return explicit in ("1", "true", "yes", "on")
    return not (env.get("API_KEYS", "").strip() or env.get("API_KEYS_FILE", "").strip())


def mask_url(url: str) -> str:
    """The URL with any password replaced, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def _parts_list(values: Iterable[str]) -> frozenset[str]:
    names = {n.strip() for v in values for n in v.split(",") if n.strip()}
    if "workers" in names:
        names = (names - {"workers"}) | {"worker-llm", "worker-tools"}
    return frozenset(names)


def parse_args(argv: Sequence[str] | None = None) -> StackConfig:
    parser = argparse.ArgumentParser(
        prog="durable-agent up",
        description=(
            "Run the whole stack locally: Temporal dev server, Redis, workers, gateway "
            "(and a fake LLM when no model is configured). Ctrl-C stops everything."
        ),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("DURABLE_AGENT_DATA_DIR", "data")),
        help="where Temporal's and Redis's data live (default: ./data, env DURABLE_AGENT_DATA_DIR)",
    )
    parser.add_argument(
        "--api-host", default=None, help="gateway address (default: API_HOST or 127.0.0.1)"
    )
    parser.add_argument(
        "--api-port",
        type=int,
        default=None,
        help="gateway port (default: API_PORT or 8000; 0: any free)",
    )
    parser.add_argument(
        "--temporal-port",
        type=int,
        default=_env_int("DURABLE_AGENT_TEMPORAL_PORT"),
        help="dev server gRPC port (default 7233, or a free one if taken; 0: any free)",
    )
    parser.add_argument(
        "--temporal-ui-port",
        type=int,
        default=_env_int("DURABLE_AGENT_TEMPORAL_UI_PORT"),
        help="Temporal web UI port (default: the Temporal port + 1000; 0: any free)",
    )
    parser.add_argument("--headless", action="store_true", help="no Temporal web UI")
    parser.add_argument(
        "--redis-port",
        type=int,
        default=_env_int("DURABLE_AGENT_REDIS_PORT"),
        help="port for the private redis-server (default: a free one)",
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="PART[,PART]",
        help=f"leave parts out: {', '.join(OPTIONAL_PARTS)}, workers "
        "(temporal: use TEMPORAL_ADDRESS instead of a dev server)",
    )
    parser.add_argument(
        "--fake-llm", action="store_true", help="use the fake LLM even if a model is configured"
    )
    parser.add_argument(
        "--ready-timeout", type=float, default=120.0, help="seconds each part has to become ready"
    )
    color = parser.add_mutually_exclusive_group()
    color.add_argument("--color", dest="color", action="store_true", default=None)
    color.add_argument("--no-color", dest="color", action="store_false")
    args = parser.parse_args(argv)
    try:
        return StackConfig(
            data_dir=args.data_dir,
            api_host=args.api_host,
            api_port=args.api_port,
            temporal_port=args.temporal_port,
            temporal_ui_port=args.temporal_ui_port,
            temporal_ui=not args.headless,
            redis_port=args.redis_port,
            without=_parts_list(args.without),
            fake_llm=args.fake_llm,
            ready_timeout=args.ready_timeout,
            color=args.color,
        )
    except StackError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits
