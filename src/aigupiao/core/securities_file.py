"""The user's security facts update file: checked against what is known, written, and
laid over the built-in table at start.

The update file (``symbols.json`` in the var directory, beside ``calendar.json``) keeps
only what the user's sources said (:mod:`aigupiao.core.securities_sources`), field by
field; at start it is laid over the built-in table (:func:`install_update`), so a newer
aigupiao's built-in facts still count for every field the user's files did not give.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aigupiao.domain.securities import (
    FundKind,
    SecurityTable,
    builtin_securities,
    use_securities,
)
from aigupiao.domain.symbols import Special, parse_symbol

from .securities_sources import (
    UPDATE_FORMAT,
    Changes,
    SecurityFileError,
    SourceFacts,
    changes_from_update,
    codes_text,
)

log = logging.getLogger(__name__)

UPDATE_FILE_NAME = "symbols.json"


# -- checking an update against what is known ------------------------------------------------


@dataclass(frozen=True)
class UpdateCheck:
    """How a source would change the facts in use.

    Attributes:
        added: codes the table did not know beyond their defaults.
        listing_changed: known listing dates the source gives differently: (code, old, new).
        special_changed: (code, old, new) special treatments.
        kind_changed: (code, old, new) fund kinds.
        ratio_changed: (code, old, new) limit ratios.
        renamed: how many names change.
    """

    source: SourceFacts
    added: tuple[str, ...]
    listing_changed: tuple[tuple[str, date, date | None], ...]
    special_changed: tuple[tuple[str, Special | None, Special | None], ...]
    kind_changed: tuple[tuple[str, FundKind | None, FundKind | None], ...]
    ratio_changed: tuple[tuple[str, Decimal | None, Decimal | None], ...]
    renamed: int

    def refusals(self) -> list[tuple[str, str]]:
        """Why the file should not be used without ``--force`` (Chinese, English): a
        listing date never changes, so a different one is a wrong file or a reused code."""
        if not self.listing_changed:
            return []
        shown = ", ".join(f"{c} {old}→{new}" for c, old, new in self.listing_changed[:5])
        count = len(self.listing_changed)
        return [
            (
                f"会改变 {count} 个已知的上市日期：{shown}",
                f"would change {count} known listing date(s): {shown}",
            )
        ]

    def notes(self) -> list[tuple[str, str]]:
        """What the update changes, and the rows left out."""
        notes = list(self.source.notes)
        if self.source.skipped:
            skipped = self.source.skipped
            notes.append(
                (
                    f"跳过 {len(skipped)} 行（aigupiao 不交易的证券，如 B 股、场外基金）："
                    f"{codes_text(skipped)}",
                    f"skipped {len(skipped)} row(s) of securities aigupiao does not trade "
                    f"(B shares, off-exchange funds): {codes_text(skipped)}",
                )
            )
        for label_zh, label_en, changed in (
            ("特别处理", "special treatment", self.special_changed),
            ("基金类型", "fund kind", self.kind_changed),
            ("涨跌幅比例", "limit ratio", self.ratio_changed),
        ):
            if changed:
                shown = ", ".join(f"{c} {_text(a)}→{_text(b)}" for c, a, b in changed[:6])
                more = f" … (+{len(changed) - 6})" if len(changed) > 6 else ""
                notes.append(
                    (
                        f"{len(changed)} 个证券的{label_zh}改变：{shown}{more}",
                        f"{len(changed)} {label_en} change(s): {shown}{more}",
                    )
                )
        if self.added:
            notes.append(
                (
                    f"新增 {len(self.added)} 个证券：{codes_text(list(self.added))}",
                    f"adds {len(self.added)} securities: {codes_text(list(self.added))}",
                )
            )
        return notes


def _text(value: object) -> str:
    return "无" if value is None else str(value)


def check_update(current: SecurityTable, source: SourceFacts) -> UpdateCheck:
    """Compare what ``source`` says with ``current``."""
    added, listing, special, kind, ratio = [], [], [], [], []
    renamed = 0
    for full, given in source.changes.items():
        if full not in current.entries:
            added.append(full)
        now = current.facts(parse_symbol(full))
        if (
            "listed_on" in given
            and now.listed_on is not None
            and given["listed_on"] != now.listed_on
        ):
            listing.append((full, now.listed_on, given["listed_on"]))
        if "special" in given and given["special"] != now.special:
            special.append((full, now.special, given["special"]))
        if "fund_kind" in given and given["fund_kind"] != now.fund_kind:
            kind.append((full, now.fund_kind, given["fund_kind"]))
        if "limit_ratio" in given and given["limit_ratio"] != now.limit_ratio:
            ratio.append((full, now.limit_ratio, given["limit_ratio"]))
        if "name" in given and now.name and given["name"] != now.name:
            renamed += 1
    return UpdateCheck(
        source, tuple(added), tuple(listing), tuple(special), tuple(kind), tuple(ratio), renamed
    )


# -- the update file -----------------------------------------------------------------------


def _json_value(name: str, value: Any) -> Any:
    if value is None or name == "name":
        return value
    if name == "listed_on":
        return value.isoformat()
    if name == "limit_ratio":
        return str(value)
    return str(value.value)


def update_to_json(changes: Changes, source: str) -> dict[str, Any]:
    return {
        "format": UPDATE_FORMAT,
        "source": source,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "securities": {
            full: {name: _json_value(name, value) for name, value in sorted(given.items())}
            for full, given in sorted(changes.items())
        },
    }


def write_update(path: Path, changes: Changes, source: str) -> None:
    """Write the update file (atomically: a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(
        json.dumps(update_to_json(changes, source), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    os.replace(temporary, path)


def read_update(path: Path) -> tuple[Changes, str]:
    """The facts stored in an update file, and their source.

    Raises:
        SecurityFileError: missing, not JSON, or not a valid update file.
    """
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SecurityFileError(
            f"无法读取证券信息更新文件 {path}：{exc}", f"cannot read symbols update {path}: {exc}"
        ) from exc
    return changes_from_update(content, path)


def merge_changes(earlier: Changes, later: Changes) -> Changes:
    """``later`` laid over ``earlier``, field by field."""
    merged = {full: dict(given) for full, given in earlier.items()}
    for full, given in later.items():
        merged.setdefault(full, {}).update(given)
    return merged


def effective_securities(update_path: Path | None) -> SecurityTable:
    """The built-in table with the update file at ``update_path`` laid over it, if any.

    Raises:
        SecurityFileError: the update file exists but cannot be used.
    """
    builtin = builtin_securities()
    if update_path is None or not update_path.is_file():
        return builtin
    changes, source = read_update(update_path)
    return builtin.overlaid(changes, source)


def install_update(update_path: Path) -> SecurityTable | None:
    """At process start: use the update file at ``update_path`` if there is one.

    Returns the table now in use, or None if there is no update file (the built-in
    table stays).

    Raises:
        SecurityFileError: the file exists but cannot be used (wrong facts trade at
            wrong limits, so this stops the start).
    """
    if not update_path.is_file():
        return None
    table = effective_securities(update_path)
    use_securities(table)
    log.info("security facts from %s: %d securities (%s)", update_path, len(table), table.source)
    return table
