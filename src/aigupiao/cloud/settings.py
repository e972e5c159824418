"""Cloud server settings (the seed's cloud config shape, plus what the server needs)."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aigupiao.core.asgi import MIB
from aigupiao.core.config import FileSettings
from aigupiao.strategy.llm_endpoint import EndpointName, LlmEndpoint


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalTradingSection(_Section):
    websocket_url: str = "ws://127.0.0.1:8000/api/cloud-local-trading/ws"
    api_timeout: float = Field(30, gt=0, description="seconds execute-trade waits for a result")
    retry_attempts: int = Field(3, ge=0)
    command_ttl: float = Field(10, gt=0, description="seconds before a trade command expires")
    heartbeat_s: float = Field(10, gt=0)
    auth_failures_per_minute: int = Field(10, gt=0, description="bad node logins per address")
    token_check_interval: float = Field(1.0, gt=0, description="seconds between revocation checks")


class LlmSection(_Section):
    """The LLM strategy's allowlist (docs/strategies.md): the only places it may send the
    account summary, and the only environment variables it reads (each endpoint's key).
    Set here by the operator, never through the API, which picks an endpoint by name."""

    endpoints: dict[EndpointName, LlmEndpoint] = Field(
        default_factory=dict,
        description="name -> {base_url, models, api_key_env}; none: the strategy stays off",
    )


class AgentSection(_Section):
    enabled: bool = True
    account: str | None = Field(None, description="account to trade; default: the only node's")
    decision_interval: float = Field(3, gt=0)
    # Risk limits: the defaults of every account (docs/risk.md); changed per account
    # through PUT /api/risk/limits, which is kept in the database.
    risk_threshold: Decimal = Field(Decimal("0.08"), gt=0, lt=1, description="stop-loss")
    max_position_size: Decimal = Field(Decimal("0.1"), gt=0, le=1)
    trailing_stop: Decimal | None = Field(None, gt=0, lt=1, description="off when null")
    max_positions: int | None = Field(10, gt=0, description="symbols held; null: no limit")
    daily_loss_limit: Decimal | None = Field(Decimal("0.05"), gt=0, lt=1)
    max_orders_per_minute: int | None = Field(30, gt=0)
    duplicate_window: int = Field(10, ge=0, le=3600, description="seconds; 0 = off")
    dip_threshold: Decimal = Field(Decimal("-0.05"), lt=0)
    dip_quantity: int = Field(100, gt=0)
    strategy_paths: list[Path] = Field(
        default_factory=list,
        description="folders (or files) of user strategies; reloaded by POST /api/agent/reload",
    )
    llm: LlmSection = LlmSection()


class ReplaySection(_Section):
    path: Path | None = Field(None, description="CSV/Parquet file or folder of bars or snapshots")
    speed: float = Field(60.0, ge=0, description="market seconds per real second; 0 = at once")


class ChagubangSection(_Section):
    host: str = Field("", description="the vendor's host")
    port: int = Field(6380, gt=0, le=65535)
    token: str | None = Field(None, description="the token bought from the vendor")


class HttpPollSection(_Section):
    interval: float = Field(3.0, gt=0, description="seconds between polls of all codes")
    codes: list[str] | None = Field(None, description="codes to poll; default: the universe")
    timeout: float = Field(5.0, gt=0)


class MarketSection(_Section):
    feed: Literal["sim", "replay", "chagubang", "tencent", "sina"] = "sim"
    symbols: int = Field(50, gt=0, le=6000)
    include_st: bool = Field(False, description="universe: also ST / *ST stocks")
    include_bse: bool = Field(False, description="universe: also BSE (北交所) stocks")
    sim_speed: float = Field(1.0, gt=0)
    sim_seed: int = 7
    sim_interval: float = Field(1.0, gt=0)
    shared_dir: Path | None = None
    store_interval: float = Field(2.0, gt=0, description="seconds between quotes_latest flushes")
    keep_raw: bool = Field(False, description="also store every raw snapshot")
    raw_retention_days: int = Field(7, gt=0, description="days raw snapshots are kept")
    max_quote_age: float = Field(
        120, gt=0, description="seconds: an older quote is stale and refused"
    )
    replay: ReplaySection = ReplaySection()
    chagubang: ChagubangSection = ChagubangSection()
    tencent: HttpPollSection = HttpPollSection()
    sina: HttpPollSection = HttpPollSection()


class AccountsSection(_Section):
    equity_interval: float = Field(
        60, gt=0, description="seconds: at most one equity history row per account per interval"
    )
    equity_retention_days: int = Field(400, gt=0, description="days equity history is kept")


class BacktestSection(_Section):
    """Backtests from the API (docs/backtest.md, "API and dashboard")."""

    data_dirs: list[Path] = Field(
        default_factory=lambda: [Path("../shared/data")],
        description="回测数据目录 (folders of bar files): a request's data paths must lie "
        "inside one of these (relative to the working directory; missing ones are ignored)",
    )
    max_concurrent: int = Field(1, ge=1, le=64, description="runs at once (each a CPU thread)")
    max_queued: int = Field(20, ge=1, le=10_000, description="runs waiting or running at most")
    progress_interval: float = Field(
        1.0, gt=0, le=60, description="seconds between progress writes of a running run"
    )


class ServerSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    ssl_certfile: Path | None = Field(None, description="serve HTTPS/WSS directly (PEM)")
    ssl_keyfile: Path | None = None
    static_dir: Path | None = Field(
        None, description="the built dashboard; default: the package's cloud/static"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="反向代理的地址或网段 (IPs/CIDRs of reverse proxies): X-Forwarded-For and "
        "X-Forwarded-Proto are believed only from these peers; empty: from nobody",
    )
    max_body_bytes: int = Field(
        MIB, gt=0, description="largest request body in bytes (larger: 413)"
    )
    max_push_bytes: int = Field(
        16 * MIB,
        gt=0,
        description="largest body of POST /api/market/quotes (up to 10,000 quotes with books)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"trusted_proxies: {item!r} 不是 IP 地址或网段 (not an IP address or CIDR)"
                ) from exc
        return value


class AuthSection(_Section):
    session_hours: float = Field(12, gt=0, description="hours a dashboard login lasts")
    login_failures: int = Field(
        5,
        gt=0,
        description="wrong passwords in a row for one username before each further "
        "attempt must wait (login_delay_s, doubling)",
    )
    login_failures_per_address: int = Field(
        20, gt=0, description="the same, for wrong passwords from one client address"
    )
    login_delay_s: float = Field(
        1, gt=0, description="seconds the first delayed attempt waits; each failure doubles it"
    )
    login_max_delay_s: float = Field(30, gt=0, description="the longest wait between attempts")
    login_window_s: float = Field(
        300, gt=0, description="seconds without a failure after which the count starts over"
    )
    cookie_secure: bool = Field(
        False,
        description="always mark the session cookie Secure (it is Secure anyway when the "
        "request came over HTTPS, directly or through a trusted proxy)",
    )


class CloudSettings(FileSettings):
    server: ServerSection = ServerSection()
    database_url: str = "sqlite+aiosqlite:///var/aigupiao.db"
    var_dir: Path = Path("var")
    local_trading: LocalTradingSection = LocalTradingSection()
    agent: AgentSection = AgentSection()
    market: MarketSection = MarketSection()
    auth: AuthSection = AuthSection()
    accounts: AccountsSection = AccountsSection()
    backtest: BacktestSection = BacktestSection()
    log_level: str = "INFO"
