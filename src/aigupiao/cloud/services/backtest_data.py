"""The only files an API backtest may read: those inside ``backtest.data_dirs``.

A request names a file or a folder relative to one of the data folders (or absolute
inside one). :meth:`DataFolders.resolve` follows links and refuses anything that ends
outside every data folder, or is a whole data folder, so an API client can make the
server read nothing else; :meth:`DataFolders.browse` lists a folder the same way (for
the dashboard's picker), and :meth:`DataFolders.hide` cuts the folders' locations out
of a report's text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from ..errors import InvalidRequest

MAX_ENTRIES = 500  # entries one listing shows (a folder of the whole market has ~5,000)


class DataEntry(BaseModel):
    name: str
    path: str  # as a request names it, relative to the data folders
    kind: Literal["dir", "file"]


class DataListing(BaseModel):
    path: str  # the folder listed ("" for the data folders' tops)
    entries: list[DataEntry]
    truncated: bool  # more entries than MAX_ENTRIES


class DataFolders:
    """The configured data folders; those that do not exist are ignored.

    Args:
        folders: ``backtest.data_dirs`` (relative to the working directory).
    """

    def __init__(self, folders: list[Path]) -> None:
        self._given = list(folders)
        self._roots = [folder.resolve() for folder in folders]

    def roots(self) -> list[Path]:
        return [root for root in self._roots if root.is_dir()]

    def _inside(self, path: Path, roots: list[Path]) -> bool:
        """Strictly inside a data folder: a whole data folder is never one run's data."""
        return any(path.is_relative_to(root) and path != root for root in roots)

    def resolve(self, text: str, field: str) -> Path:
        """The existing file or folder ``text`` names inside a data folder.

        Raises:
            InvalidRequest: no data folder (``no_data_dirs``), outside every data folder
                (``data_outside``) or missing (``data_not_found``).
        """
        roots = self.roots()
        if not roots:
            raise InvalidRequest(
                "没有配置回测数据目录 (backtest.data_dirs)",
                "no data folder is configured (backtest.data_dirs)",
                code="no_data_dirs",
            )
        given = Path(text)
        escaped = True  # until a candidate stays inside
        try:
            candidates = (
                [given.resolve()]
                if given.is_absolute()
                else [(root / given).resolve() for root in roots]
            )
            for candidate in candidates:
                if not self._inside(candidate, roots):
                    break  # leads out of its folder (.., a link): refused whatever else
                if candidate.exists():
                    return candidate
            else:
                escaped = False
        except (OSError, ValueError, RuntimeError):
            escaped = False  # a name too long, a symlink loop: nothing to read either way
        if escaped:
            raise InvalidRequest(
                f"{field}：{text} 不在回测数据目录内",
                f"{field}: {text} is outside the data folders",
                code="data_outside",
            )
        raise InvalidRequest(
            f"{field}：数据目录里没有 {text}",
            f"{field}: {text} does not exist in the data folders",
            code="data_not_found",
        )

    def browse(self, text: str) -> DataListing:
        """The folders and files in the folder ``text`` names (``""``: the tops of every
        data folder), folders first, by name; hidden names and links that lead outside
        are left out. Each entry's ``path`` is what a request names it by.

        Raises:
            InvalidRequest: as :meth:`resolve`, or ``not_a_folder``.
        """
        prefix = text.strip().strip("/")
        roots = self.roots()
        if prefix:
            folders = [self.resolve(prefix, "path")]
            if not folders[0].is_dir():
                raise InvalidRequest(
                    f"{prefix} 不是文件夹", f"{prefix} is not a folder", code="not_a_folder"
                )
        else:
            folders = roots
        seen: dict[str, DataEntry] = {}
        truncated = False
        for folder in folders:
            try:
                children = sorted(folder.iterdir(), key=lambda p: p.name)
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or child.name in seen:
                    continue
                try:
                    target = child.resolve()
                    if not self._inside(target, roots):
                        continue
                    kind: Literal["dir", "file"] = "dir" if target.is_dir() else "file"
                except (OSError, RuntimeError):
                    continue
                if len(seen) >= MAX_ENTRIES:
                    truncated = True
                    break
                path = f"{prefix}/{child.name}" if prefix else child.name
                seen[child.name] = DataEntry(name=child.name, path=path, kind=kind)
        entries = sorted(seen.values(), key=lambda e: (e.kind != "dir", e.name))
        return DataListing(path=prefix, entries=entries, truncated=truncated)

    def hide(self, text: str) -> str:
        """``text`` with the data folders' locations on this server cut out."""
        for root in sorted({*self._roots, *self._given}, key=lambda p: -len(str(p))):
            text = text.replace(f"{root}/", "")
        return text
