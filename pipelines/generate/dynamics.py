"""The dynamics that differ between cities, as knobs of the generator.

The defaults are the values the generator always had (one 聊城-like city): with
`Dynamics()` the same seed still gives the same bytes. Named presets move one or
two knobs each, so that a model can be judged on a family of worlds rather than
on the one city its author had in mind (issue 15, docs/worlds.md).

| knob | default | what it is |
|---|---|---|
| check_months | 12 | months between routine 家庭经济状况核对 of 在册 households (not 低保边缘) |
| check_months_edge | 6 | the same for 低保边缘 households |
| check_spread | 0 | each interval is drawn uniformly within ± this many months (0: a fixed calendar) |
| check_noise | 0.05 | relative error of the income a check records |
| job_loss_scale | 1.0 | multiplies the monthly job-loss hazard (1.2% able-bodied, 1.8% partly able) |
| informal_drift | 0.03 | s.d. of the monthly log change of informal/farm income (persistent) |
| informal_noise | 0.12 | s.d. of the monthly log noise of informal/farm income (transient) |
| season | 1.0 | amplitude of the seasonal profile of informal income (0: none, 2: twice today's) |
| apply_scale | 1.0 | multiplies each group's share of households that would apply once below the line |
| apply_rate | 0.3 | monthly chance that such a household below the line applies |
| convert_applied | 0.9 | chance a monitored household found below the line after applying enters 低保 |
| convert_checked | 0.6 | the same at a routine check, without an application |
| enter_found | 0.5 | chance a household outside the register found below the line enters 低保 unasked |
| discover_rate | 0.004 | monthly chance dynamic monitoring finds a household not yet monitored |
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Dynamics:
    check_months: int = 12
    check_months_edge: int = 6
    check_spread: int = 0
    check_noise: float = 0.05
    job_loss_scale: float = 1.0
    informal_drift: float = 0.03
    informal_noise: float = 0.12
    season: float = 1.0
    apply_scale: float = 1.0
    apply_rate: float = 0.3
    convert_applied: float = 0.9
    convert_checked: float = 0.6
    enter_found: float = 0.5
    discover_rate: float = 0.004

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"dynamics {f.name} must be an integer, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise ValueError(f"dynamics {f.name} must be a number, got {value!r}")
        for name in ("check_months", "check_months_edge"):
            if not 1 <= getattr(self, name) <= 36:
                raise ValueError(f"dynamics {name} must be from 1 to 36 months, got {getattr(self, name)}")
        if not 0 <= self.check_spread < min(self.check_months, self.check_months_edge):
            raise ValueError(f"dynamics check_spread must be from 0 to one less than the shortest interval "
                             f"({min(self.check_months, self.check_months_edge) - 1}), got {self.check_spread}")
        bounds = {
            "check_noise": (0, 1), "job_loss_scale": (0, 20), "informal_drift": (0, 1),
            "informal_noise": (0, 2), "season": (0, 3), "apply_scale": (0, 3), "apply_rate": (0, 1),
            "convert_applied": (0, 1), "convert_checked": (0, 1), "enter_found": (0, 1),
            "discover_rate": (0, 1),
        }
        for name, (lo, hi) in bounds.items():
            if not lo <= getattr(self, name) <= hi:
                raise ValueError(f"dynamics {name} must be from {lo} to {hi}, got {getattr(self, name)}")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def changed(self) -> dict:
        """The knobs that differ from the default city."""
        base = Dynamics()
        return {k: v for k, v in self.as_dict().items() if getattr(base, k) != v}


# Each preset is one city's habit, kept far enough from the default to matter.
PRESETS: dict[str, Dynamics] = {
    "default": Dynamics(),
    "yearly": Dynamics(check_months=12, check_months_edge=12),
    "twice-yearly": Dynamics(check_months=6, check_months_edge=6),
    "irregular": Dynamics(check_months=10, check_months_edge=10, check_spread=4),
    "volatile-informal": Dynamics(informal_drift=0.08, informal_noise=0.30, season=1.5),
    "high-job-loss": Dynamics(job_loss_scale=3.0),
    "low-apply": Dynamics(apply_scale=0.4, apply_rate=0.1, enter_found=0.3),
    "strict-conversion": Dynamics(convert_applied=0.6, convert_checked=0.3, enter_found=0.3),
    "no-season": Dynamics(season=0.0, check_noise=0.10),
}


def _value(field: dataclasses.Field, text: str):
    try:
        return int(text) if field.type in ("int", int) else float(text)
    except ValueError:
        kind = "an integer" if field.type in ("int", int) else "a number"
        raise ValueError(f"dynamics {field.name} must be {kind}, got {text!r}") from None


def resolve(preset: str = "default", settings: list[str] | tuple[str, ...] = ()) -> Dynamics:
    """A preset with `key=value` overrides; ValueError with one line when bad."""
    if preset not in PRESETS:
        raise ValueError(f"unknown dynamics {preset!r}: choose one of {', '.join(PRESETS)}")
    by_name = {f.name: f for f in fields(Dynamics)}
    changes = {}
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        if key not in by_name:
            raise ValueError(f"unknown dynamics knob {key!r}: choose one of {', '.join(by_name)}")
        changes[key] = _value(by_name[key], text.strip())
    return dataclasses.replace(PRESETS[preset], **changes)


def to_json(d: Dynamics, preset: str) -> str:
    return json.dumps({"preset": preset, "knobs": d.as_dict(), "changed": d.changed()},
                      ensure_ascii=False, indent=2) + "\n"
