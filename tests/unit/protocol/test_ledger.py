"""The cloud's ledger keeps the latest account report of each node (decoded from codec dicts)."""

from __future__ import annotations

from decimal import Decimal

from aigupiao.cloud.services.ledger import Ledger
from aigupiao.domain.account import Account, Position
from aigupiao.domain.symbols import parse_symbol
from aigupiao.protocol.codec import account_from_dict, account_to_dict

MOUTAI = parse_symbol("600519")


def _account(account_id: str, cash: str, *positions: Position) -> Account:
    return Account(id=account_id, cash=Decimal(cash), positions=positions, paper=False)


def test_unknown_account_is_none() -> None:
    assert Ledger().get("paper-1") is None


def test_update_then_get_returns_the_reported_account() -> None:
    ledger = Ledger()
    position = Position(MOUTAI, total=200, available=100, cost_price=Decimal("1466.80"))
    account = _account("live-1", "5000.01", position)
    stored = ledger.update(account_from_dict(account_to_dict(account)))
    assert stored == account
    assert ledger.get("live-1") == account
    got = ledger.get("live-1")
    assert got is not None
    assert str(got.cash) == "5000.01"
    assert got.position(MOUTAI) == position
    assert got.paper is False


def test_a_newer_report_replaces_the_old_one() -> None:
    ledger = Ledger()
    ledger.update(account_from_dict(account_to_dict(_account("live-1", "5000.00"))))
    ledger.update(account_from_dict(account_to_dict(_account("live-1", "3511.99"))))
    got = ledger.get("live-1")
    assert got is not None and got.cash == Decimal("3511.99")


def test_accounts_are_kept_apart() -> None:
    ledger = Ledger()
    ledger.update(account_from_dict(account_to_dict(_account("live-1", "1"))))
    ledger.update(account_from_dict(account_to_dict(_account("live-2", "2"))))
    one, two = ledger.get("live-1"), ledger.get("live-2")
    assert one is not None and one.cash == 1
    assert two is not None and two.cash == 2
