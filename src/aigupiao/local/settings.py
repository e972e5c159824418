"""Local node settings (the seed's ``local_config.json`` shape, plus node identity)."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aigupiao.core.config import FileSettings


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8888, ge=0, le=65535)
    api_key: str | None = Field(
        None, description="required for /trade, /export, /ws and the account part of /status"
    )
    max_body_bytes: int = Field(
        64 * 1024, gt=0, description="largest request body in bytes (larger: 413)"
    )


class CloudSection(_Section):
    api_url: str = "http://127.0.0.1:8000"
    websocket_url: str = "ws://127.0.0.1:8000/api/cloud-local-trading/ws"
    token: str | None = Field(None, description="this node's token from `aigupiao node add`")
    ca_file: Path | None = Field(
        None, description="CA bundle to trust for wss:// and https:// (self-signed clouds)"
    )


class TradingSection(_Section):
    software_check_interval: float = Field(5, gt=0)
    export_cleanup_hours: float = Field(24, gt=0, description="export files older than this go")
    export_dir: Path | None = Field(
        None, description="where /export writes its files; default <node.data_dir>/exports"
    )
    broker: str = Field(
        "paper",
        description="券商适配器 broker adapter: paper (模拟), ths (同花顺/xiadan via easytrader, "
        "Windows), qmt (miniQMT via xtquant, Windows)",
    )
    paper_cash: Decimal = Field(Decimal("1000000"), gt=0)
    broker_timeout: float = Field(15, gt=0)
    paper_latency: float = Field(0, ge=0, description="seconds per paper order (rehearsal)")
    # -- the Windows adapters (docs/windows.md) --
    step_timeout: float = Field(
        10,
        gt=0,
        description="ths/qmt: 单步超时秒数（一次界面操作或一次 SDK 调用）; seconds one client "
        "step may take before it counts as no answer (keep it below broker_timeout)",
    )
    poll_interval: float = Field(
        3,
        ge=0,
        description="ths: 交易时段内轮询当日委托/成交的间隔秒数，0 关闭事件推送; seconds between "
        "polls of today's orders and fills for order_update/trade events (0 = off)",
    )
    ths_client_path: Path | None = Field(
        None,
        description=r"ths: 下单程序路径，如 C:\同花顺软件\同花顺\xiadan.exe; the broker "
        "client's xiadan.exe",
    )
    ths_client_type: str = Field(
        "ths",
        description="ths: easytrader 客户端类型 client type: ths (通用同花顺), universal_client, "
        "ht_client (华泰), gj_client (国金), yh_client (银河), wk_client, htzq_client, gf_client",
    )
    ths_grid_strategy: Literal["copy", "wmcopy", "xls"] = Field(
        "copy",
        description="ths: 表格读取方式 how grids are read: copy (Ctrl+A/Ctrl+C 剪贴板), wmcopy "
        "(WM_COPY 消息), xls (Ctrl+S 另存，复制被禁止或有验证码时用)",
    )
    ths_type_keys: bool = Field(
        False,
        description="ths: 逐键输入代码/价格/数量（个别客户端不接受直接设置文本）; type into the "
        "order boxes instead of setting their text",
    )
    qmt_path: Path | None = Field(
        None,
        description=r"qmt: miniQMT 的 userdata_mini 目录，如 D:\国金QMT交易端\userdata_mini",
    )
    qmt_account: str | None = Field(
        None, description="qmt: 资金账号 (默认 node.account); the account id in miniQMT"
    )
    qmt_session_id: int | None = Field(
        None, description="qmt: XtQuantTrader 会话号 (默认每次连接随机); session id"
    )


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
