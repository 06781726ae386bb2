"""Which model clients a worker uses: one place, chosen from the settings.

``LLM_CLIENT=auto`` (the default) sends ``openai/<model>`` models through the
OpenAI SDK (``openai_model``: the cheap path for OpenAI-compatible servers)
and every other provider through litellm (``litellm_model``);
``LLM_CLIENT=litellm`` sends everything through litellm. ``LLM_MODEL`` comes
first, then each of ``LLM_FALLBACK_MODELS`` in order, chosen by the same rule
and sharing ``LLM_API_KEY``, and ``LLM_API_BASE`` unless the entry names its own
(``openai/x@http://host:8080/v1``).
"""

from __future__ import annotations

from agent_core.settings import Settings
from worker_llm.model_client import ModelClient

__all__ = ["chat_model_for", "chat_models_for"]


def chat_model_for(
    settings: Settings, model: str | None = None, api_base: str | None = None
) -> ModelClient:
    """The client for ``model`` (default ``LLM_MODEL``) at ``api_base`` (default
    ``LLM_API_BASE``); ``.name`` is the model string."""
    from worker_llm.openai_model import PREFIX, OpenAIChatModel

    name = model or settings.llm_model
    if settings.llm_client == "auto" and name.startswith(PREFIX):
        return OpenAIChatModel(settings, name, api_base)
    from worker_llm.litellm_model import LitellmChatModel  # litellm is slow to import

    return LitellmChatModel(settings, name, api_base)


def chat_models_for(settings: Settings) -> list[ModelClient]:
    """The primary model and its fallbacks, in the order a call tries them."""
    entries = dict.fromkeys([(settings.llm_model, None), *settings.fallback_models])
    return [chat_model_for(settings, name, base) for name, base in entries]  # no repeats
