"""Local node settings (the seed's ``local_config.json`` shape, plus node identity)."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aigupiao.core.config import FileSettings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8888, ge=0, le=65535)
    api_key: str | None = Field(None, description="required for /trade, /export and /ws")


class CloudSection(_Section):
    api_url: str = "http://127.0.0.1:8000"
    websocket_url: str = "ws://127.0.0.1:8000/api/cloud-local-trading/ws"
    token: str | None = Field(None, description="this node's token from `aigupiao node add`")
    ca_file: Path | None = Field(
        None, description="CA bundle to trust for wss:// and https:// (self-signed clouds)"
    )


class TradingSection(_Section):
    software_check_interval: float = Field(5, gt=0)
    export_cleanup_hours: float = Field(24, gt=0)
    broker: str = "paper"
    paper_cash: Decimal = Field(Decimal("1000000"), gt=0)
    broker_timeout: float = Field(15, gt=0)
    paper_latency: float = Field(0, ge=0, description="seconds per paper order (rehearsal)")


class NodeSection(_Section):
    id: str = Field("local-1", min_length=1, max_length=64)
    account: str = Field("paper-1", min_length=1, max_length=64)
    data_dir: Path = Path("var/node")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LocalSettings(FileSettings):
    server: ServerSection = ServerSection()
    cloud: CloudSection = CloudSection()
    trading: TradingSection = TradingSection()
    node: NodeSection = NodeSection()
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> LocalSettings:
        for name, value in (
            ("cloud.token", self.cloud.token),
            ("server.api_key", self.server.api_key),
        ):
            if value and value.upper().startswith(("PASTE", "CHANGE", "YOUR")):
                raise ValueError(
                    f"{name} 仍是示例占位符，请填入真实值 ({name} is still the example placeholder)"
                )
        return self

    @model_validator(mode="after")
    def _refuse_open_bind_without_key(self) -> LocalSettings:
        if not is_loopback(self.server.host) and not self.server.api_key:
            raise ValueError(
                f"本地节点绑定到非本机地址 {self.server.host} 时必须设置 server.api_key "
                f"(refusing to listen on {self.server.host} without server.api_key)"
            )
        return self
