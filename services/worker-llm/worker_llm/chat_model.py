"""Which model client a worker uses: one place, chosen from the settings.

``LLM_CLIENT=auto`` (the default) sends ``openai/<model>`` models through the
OpenAI SDK (``openai_model``: the cheap path for OpenAI-compatible servers)
and every other provider through litellm (``litellm_model``);
``LLM_CLIENT=litellm`` sends everything through litellm.
"""

from __future__ import annotations

from agent_core.chat_model import ChatModel
from agent_core.settings import Settings

__all__ = ["chat_model_for"]


def chat_model_for(settings: Settings) -> ChatModel:
    from worker_llm.openai_model import PREFIX, OpenAIChatModel

    if settings.llm_client == "auto" and settings.llm_model.startswith(PREFIX):
        return OpenAIChatModel(settings)
    from worker_llm.litellm_model import LitellmChatModel  # litellm is slow to import

    return LitellmChatModel(settings)
