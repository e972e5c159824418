"""The operator's allowlist of chat-completions endpoints for the LLM strategy.

An endpoint is where the strategy may send the account summary, which models it may ask
there, and the name of the one environment variable holding its API key. Only the
operator sets these, in the config file (``agent.llm.endpoints`` of the cloud config,
:class:`~aigupiao.cloud.settings.LlmSection`); the API chooses an endpoint by its name,
never by URL or variable (:mod:`.llm`). Kept apart from :mod:`.llm` so reading the
settings does not import numpy and httpx.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ENDPOINT_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"

EndpointName = Annotated[str, StringConstraints(pattern=ENDPOINT_NAME)]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LlmEndpoint(BaseModel):
    """One allowlisted OpenAI-compatible endpoint (set in the config file only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(
        max_length=500,
        # no user:password@, query or fragment: the URL is the whole address, never a secret
        pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$",
        description="OpenAI 兼容接口的 base URL（如 https://api.deepseek.com/v1）；请求发往 "
        "{base_url}/chat/completions (the base URL as given to the OpenAI SDK)",
    )
    models: tuple[ModelName, ...] = Field(
        min_length=1,
        max_length=50,
        description="允许的模型名，第一个为默认 (the models allowed; the first is the default)",
    )
    api_key_env: str | None = Field(
        default=None,
        pattern=ENV_NAME,
        description="存放该接口密钥的环境变量名；本地模型可不填 (the environment variable "
        "holding its API key; none for a local model)",
    )

    @property
    def chat_url(self) -> str:
        """Where chat completions go: ``{base_url}/chat/completions``."""
        return f"{self.base_url.rstrip('/')}/chat/completions"
