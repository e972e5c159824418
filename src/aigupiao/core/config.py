"""Loading typed settings: defaults < JSON config file < ``AIGUPIAO_*`` environment.

Nested keys use ``__`` in the environment, e.g. ``AIGUPIAO_LOCAL_TRADING__API_TIMEOUT=10``.
Unknown keys are rejected so a typo in a config file is an error, not a silent default.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

T = TypeVar("T", bound="FileSettings")


class ConfigError(Exception):
    """A configuration file or variable is missing or invalid (message for people)."""


class FileSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AIGUPIAO_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, JsonConfigSettingsSource(settings_cls))

    @classmethod
    def load(cls: type[T], path: Path | None = None, **overrides: Any) -> T:
        """Build settings from defaults, the JSON file at ``path``, the environment and overrides.

        Raises:
            ConfigError: the file is missing, not JSON, or holds an invalid or unknown key.
        """
        if path is not None:
            if not path.is_file():
                raise ConfigError(f"配置文件不存在：{path} (config file not found)")
            try:
                content = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"配置文件不是有效的 JSON：{path}: {exc} (invalid JSON)") from exc
            if not isinstance(content, dict):
                raise ConfigError(
                    f"配置文件的顶层必须是 JSON 对象 {{...}}：{path} "
                    "(the top level must be an object)"
                )
        loaded = type(
            f"{cls.__name__}FromFile",
            (cls,),
            {
                "model_config": {
                    **cls.model_config,
                    "json_file": path,
                    "json_file_encoding": "utf-8",
                }
            },
        )
        try:
            return cast(T, loaded(**overrides))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"配置无效 (invalid configuration): {problems}") from exc
