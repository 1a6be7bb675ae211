"""The model registry: trained risk models saved with skops (never pickle), each
versioned with its metrics and the data window it saw.

A models folder holds `registry.json` and `artifacts/<version>.skops`. By
default it lies beside the warehouse (`<warehouse>.models/`, git-ignored with the
warehouse); `models/registry.json` in the repository records the model the model
card evaluates. Each entry:

    version, status (candidate | current | retired), created_at, promoted_at,
    artifact (path relative to the folder), sha256, seed, features, reference,
    calibration, hyperparameters, data_window, rows, metrics, warehouse,
    promotion (the decision on it: when, whether, why, both models' test metrics)

Exactly one entry is `current`: the one nightly scoring uses. Loading checks
the artifact's sha256 against the entry and accepts only scikit-learn and
numpy types from the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # skops and scikit-learn load in seconds: only saving and loading a model needs them
    from pipelines.score.model import RiskModel

REGISTRY_FILE = "registry.json"
ARTIFACTS = "artifacts"
CANDIDATE, CURRENT, RETIRED = "candidate", "current", "retired"
# Modules whose types a saved model may contain; anything else is refused.
TRUSTED_MODULES = ("sklearn.", "numpy.")
# HistGradientBoosting with categorical features keeps functools.partial(
# sklearn.utils.validation.check_array) for its numbers; the wrapped function
# is itself listed among the file's types, so it is checked too.
TRUSTED_TYPES = ("functools.partial",)


class RegistryError(Exception):
    """A model cannot be found, saved or loaded safely; one line."""


def default_models_dir(warehouse: str | Path) -> Path:
    return Path(f"{warehouse}.models")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Registry:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.file = self.folder / REGISTRY_FILE

    def entries(self) -> list[dict]:
        if not self.file.exists():
            return []
        try:
            return json.loads(self.file.read_text(encoding="utf-8"))["models"]
        except (ValueError, KeyError) as exc:
            raise RegistryError(f"{self.file} is not a model registry: {exc}") from None

    def _write(self, entries: list[dict]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"models": entries}, ensure_ascii=False, indent=1, default=str) + "\n",
                       encoding="utf-8")
        os.replace(tmp, self.file)  # readers never see half a registry

    def entry(self, version: str) -> dict:
        for e in self.entries():
            if e["version"] == version:
                return e
        raise RegistryError(f"no model {version!r} in {self.file}")

    def current(self) -> dict | None:
        found = [e for e in self.entries() if e["status"] == CURRENT]
        return found[-1] if found else None

    def loadable(self, version: str) -> bool:
        """Whether the entry's artifact is present (a registry can travel without them)."""
        return (self.folder / self.entry(version)["artifact"]).exists()

    def save(self, model: RiskModel, entry: dict) -> dict:
        """Write the artifact and add the entry (status candidate); return the entry."""
        artifact = Path(ARTIFACTS) / f"{model.version}.skops"
        path = self.folder / artifact
        path.parent.mkdir(parents=True, exist_ok=True)
        with _quiet_skops():
            import skops.io as sio

            sio.dump(model.estimator, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        saved = {"version": model.version, "status": CANDIDATE, "created_at": _now(), "promoted_at": None,
                 "artifact": artifact.as_posix(), "sha256": _sha256(path), "features": model.features,
                 "reference": model.reference, **entry}
        self._write([e for e in self.entries() if e["version"] != model.version] + [saved])
        return saved

    def promote(self, version: str) -> dict:
        """Make `version` the current model; the previous current one is retired."""
        entries = self.entries()
        if not any(e["version"] == version for e in entries):
            raise RegistryError(f"no model {version!r} in {self.file}")
        for e in entries:
            if e["version"] == version:
                e["status"], e["promoted_at"] = CURRENT, _now()
            elif e["status"] == CURRENT:
                e["status"] = RETIRED
        self._write(entries)
        return self.entry(version)

    def annotate(self, version: str, key: str, value) -> dict:
        """Record `value` under `key` in the entry (e.g. a promotion decision)."""
        entries = self.entries()
        for e in entries:
            if e["version"] == version:
                e[key] = value
                self._write(entries)
                return e
        raise RegistryError(f"no model {version!r} in {self.file}")

    def verify(self, version: str) -> Path:
        """The entry's artifact, present and the bytes registered (without loading it)."""
        entry = self.entry(version)
        path = self.folder / entry["artifact"]
        if not path.exists():
            raise RegistryError(f"model {version}: artifact {path} is missing")
        if _sha256(path) != entry["sha256"]:
            raise RegistryError(f"model {version}: {path} does not match its registered sha256")
        return path

    def load(self, version: str) -> RiskModel:
        entry, path = self.entry(version), self.verify(version)
        from pipelines.score.model import RiskModel

        with _quiet_skops():
            import skops.io as sio

            untrusted = sio.get_untrusted_types(file=path)
            refused = [t for t in untrusted if not t.startswith(TRUSTED_MODULES) and t not in TRUSTED_TYPES]
            if refused:
                raise RegistryError(f"model {version}: refusing types {refused} in {path}")
            estimator = sio.load(path, trusted=untrusted)
        return RiskModel(version, estimator, list(entry["features"]), dict(entry["reference"]))


KIND_WHY_ZH = {"gbm": "在最近留出的月份中，排序效果显著优于按上次核对收入排序",
               "logistic": "在最近留出的月份中，排序效果显著优于按上次核对收入排序",
               "sort": "学习模型未能在最近留出的月份中显著优于按上次核对收入排序，故沿用该排序"}
COLD_START_WHY_ZH = "本市已入库的核对历史尚不足以训练和检验模型，暂按上次核对收入排序"
PROVISIONAL_WHY_ZH = "已入库的核对结果尚少，尚不能检验学习模型是否优于按上次核对收入排序，故暂按该排序；每有新月份即重新训练"
KIND_NAMES = {"gbm": "梯度提升模型 gradient boosting", "logistic": "逻辑回归模型 logistic regression",
              "sort": "按上次核对收入排序 the bureau's sort (last checked income ÷ standard)"}


def in_force(warehouse: str | Path, version: str) -> dict | None:
    """Which kind of model `version` is and why the guard put it in force, from the
    registry beside the warehouse (or the project's reference registry); None when
    neither knows it."""
    from pipelines.config import MODELS

    for folder in (default_models_dir(warehouse), MODELS):
        try:
            entry = Registry(folder).entry(version)
        except RegistryError:
            continue
        kind = entry.get("kind", "gbm")
        return {"version": version, "kind": kind, "name": KIND_NAMES.get(kind, kind),
                "why_zh": _why_zh(entry, kind),
                "reason": entry.get("guard", {}).get("reason", "")}
    return None


def provisional(entry: dict) -> bool:
    """The guard could not judge the challengers (too little history or too few held-out
    positives), so the sort was put in force until there is more to judge on."""
    decision = entry.get("guard")
    return decision is not None and ("held_out" not in decision or decision.get("judged") is False)


def _why_zh(entry: dict, kind: str) -> str:
    if entry.get("cold_start"):
        return COLD_START_WHY_ZH
    if "guard" not in entry:
        return ""
    return PROVISIONAL_WHY_ZH if provisional(entry) else KIND_WHY_ZH.get(kind, "")


@contextmanager
def _quiet_skops():
    """skops finds a function's module by asking every loaded module for its name (when it is
    imported, and when it loads); under Airflow each ask of an Airflow module with deprecated
    names warns (1,160 lines of a run log). Only warnings raised from skops' own lookup are
    silenced: scikit-learn's (another version's model, say) still reach the log."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"skops\.io\._utils")
        yield

