"""Township and village names for the lists, from the bureau's region file.

`parameters/regions/regions.csv` (code,name,level,parent; `DIBAO_REGIONS` names
another file) is reference data the bureau maintains; the generator merges its
world's codes into it. A code the file lacks is shown as the code; a code outside
聊城 (not 3715…) is flagged 市外, never named after a county.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import PROJECT_ROOT, env_path

REGIONS_FILE = PROJECT_ROOT / "parameters" / "regions" / "regions.csv"
CITY_PREFIX = "3715"


class RegionsError(ValueError):
    """The region file cannot be read; the message is one line."""


@dataclass(frozen=True)
class Regions:
    names: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def local(code: str | None) -> bool:
        return bool(code) and str(code).startswith(CITY_PREFIX)

    def label(self, code: str | None) -> str:
        """The name (`东关社区`), the code when the file lacks it, `（市外：…）` outside 聊城."""
        if not code:
            return ""
        code = str(code)
        if not self.local(code):
            return f"（市外：{code}）"
        return self.names.get(code) or code

    def with_code(self, code: str) -> str:
        """`洪官镇（371502101）`, the code alone where the region file has no name (the run report's
        township labels)."""
        return f"{self.names[code]}（{code}）" if code in self.names else code

    def name(self, code: str | None) -> str:
        """The bare name, or the code when the file lacks it (page headers, file titles)."""
        return self.names.get(str(code), str(code)) if code else ""


def load_regions(path: Path | None = None) -> Regions:
    """The region file's names by code; no file at the default place means no names (codes are shown)."""
    explicit = path is not None
    path = Path(path) if explicit else env_path("DIBAO_REGIONS", REGIONS_FILE)
    if not path.is_file():
        if explicit:
            raise RegionsError(f"no region file {path}")
        return Regions()
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            if not {"code", "name"} <= set(reader.fieldnames or ()):
                raise RegionsError(f"{path.name}: expected columns code,name,level,parent")
            return Regions({r["code"].strip(): r["name"].strip() for r in reader
                            if (r.get("code") or "").strip() and (r.get("name") or "").strip()})
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RegionsError(f"{path.name}: cannot read: {str(exc).splitlines()[0]}") from None
