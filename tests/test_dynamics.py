"""The generator's dynamics knobs do what they say, on tiny simulated worlds, and
bad values are refused with one line. Also the family command's table."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from pipelines.cli import main as dibao
from pipelines.generate import population, simulate
from pipelines.generate.codes import ACTIVE, EMPLOY_END, EVENT
from pipelines.generate.dynamics import PRESETS, Dynamics, resolve
from pipelines.generate.scales import SCALES
from pipelines.generate.streams import stream
from pipelines.generate.timeline import Timeline

ROOT = Path(__file__).resolve().parents[1]
SEED = 5
TL = Timeline(date(2024, 1, 31), 24)


def simulate_world(dynamics: Dynamics, seed: int = SEED) -> tuple[population.Population, simulate.History]:
    pop = population.build(seed, SCALES["town"], TL, dynamics)
    hist = simulate.run(pop, TL, stream(seed, "simulate"), dynamics=dynamics, check_rng=stream(seed, "checks"))
    return pop, hist


def checks_per_household_year(hist: simulate.History) -> float:
    """Income checks of households 在册 before the check, per household-year on the register."""
    on_register = hist.status[:-1] == ACTIVE
    checked = (hist.events[1:] & EVENT["income_check"]) > 0
    return (checked & on_register).sum() / (on_register.sum() / 12)


def test_twice_yearly_checks_more_often_than_yearly():
    _, yearly = simulate_world(PRESETS["yearly"])
    _, twice = simulate_world(PRESETS["twice-yearly"])
    y, t = checks_per_household_year(yearly), checks_per_household_year(twice)
    assert 0.8 < y < 1.4  # routine checks once a year, plus applications
    assert t > 1.6 * y


def test_irregular_checks_have_varied_intervals():
    def gap_shares(hist: simulate.History) -> dict[int, float]:
        """Share of each interval between a household's consecutive checks."""
        checked = (hist.events & EVENT["income_check"]) > 0
        gaps = np.concatenate([np.diff(np.flatnonzero(checked[:, h]))
                               for h in np.flatnonzero(checked.sum(axis=0) >= 2)])
        return {int(g): float((gaps == g).mean()) for g in np.unique(gaps)}

    fixed = gap_shares(simulate_world(PRESETS["yearly"])[1])
    irregular = gap_shares(simulate_world(PRESETS["irregular"])[1])
    assert fixed[12] > 0.9  # a calendar: the rest are checks after an application
    assert irregular.get(12, 0) < 0.2
    assert all(irregular.get(g, 0) > 0.04 for g in range(6, 15))  # 10 ± 4 months


def test_higher_job_loss_gives_more_deregistrations():
    def ended(dyn: Dynamics) -> int:
        _, hist = simulate_world(dyn)
        return int((hist.regs.type == EMPLOY_END).sum())

    assert ended(PRESETS["high-job-loss"]) > 1.8 * ended(Dynamics())


def test_volatile_informal_income_varies_more():
    def volatility(dyn: Dynamics) -> float:
        _, hist = simulate_world(dyn)
        whole = ~np.isnan(hist.income).any(axis=0)  # households with someone alive throughout
        x = np.log(np.maximum(hist.income[:, whole], 1.0))
        return float(np.median(np.std(np.diff(x, axis=0), axis=0)))

    assert volatility(PRESETS["volatile-informal"]) > 1.5 * volatility(Dynamics())


def test_lower_propensity_to_apply_gives_fewer_applications():
    def applications(dyn: Dynamics) -> int:
        _, hist = simulate_world(dyn)
        return int(((hist.events & EVENT["applied"]) > 0).sum())

    assert applications(PRESETS["low-apply"]) < 0.5 * applications(Dynamics())


def test_default_dynamics_is_the_generator_without_knobs():
    _, with_default = simulate_world(Dynamics())
    pop = population.build(SEED, SCALES["town"], TL)
    plain = simulate.run(pop, TL, stream(SEED, "simulate"))
    assert np.array_equal(with_default.events, plain.events)
    assert np.array_equal(with_default.income, plain.income, equal_nan=True)


@pytest.mark.parametrize("preset, settings, message", [
    ("nowhere", [], "unknown dynamics 'nowhere'"),
    ("default", ["check_months=0"], "check_months must be from 1 to 36"),
    ("default", ["check_months=6", "check_spread=6"], "check_spread must be from 0"),
    ("default", ["job_loss_scale=-1"], "job_loss_scale must be from 0"),
    ("default", ["apply_rate=often"], "apply_rate must be a number"),
    ("default", ["check_months=6.5"], "check_months must be an integer"),
    ("default", ["colour=blue"], "unknown dynamics knob 'colour'"),
    ("default", ["check_months"], "expects key=value"),
])
def test_bad_knobs_are_refused(preset, settings, message):
    with pytest.raises(ValueError, match=message):
        resolve(preset, settings)


def test_cli_refuses_bad_knob_with_one_line(tmp_path, capsys):
    rc = dibao(["generate", "--landing", str(tmp_path / "l"), "--truth", str(tmp_path / "t"),
                "--set", "convert_applied=1.5"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "convert_applied must be from 0 to 1" in err
    assert not (tmp_path / "l").exists()


def test_cli_records_dynamics_and_evaluator_truth(tmp_path, capsys):
    rc = dibao(["generate", "--landing", str(tmp_path / "l"), "--truth", str(tmp_path / "t"), "--months", "4",
                "--seed", "3", "--dynamics", "twice-yearly", "--set", "job_loss_scale=2"])
    assert rc == 0, capsys.readouterr().err
    recorded = json.loads((tmp_path / "t" / "dynamics.json").read_text(encoding="utf-8"))
    assert recorded["preset"] == "twice-yearly"
    assert recorded["changed"] == {"check_months": 6, "job_loss_scale": 2.0}
    with open(tmp_path / "t" / "households.csv", encoding="utf-8", newline="") as fh:
        households = list(csv.DictReader(fh))
    scored = [h for h in households if h["scored"] == "1"]
    assert scored and all(h["status"] == "在册" and h["category"] not in ("低保", "特困") for h in scored)
    assert {h["as_of_date"] for h in households} == {"2024-04-30"}
    with open(tmp_path / "t" / "baseline_inputs.csv", encoding="utf-8", newline="") as fh:
        baseline = {b["household_id"]: b for b in csv.DictReader(fh)}
    assert sum(1 for h in scored if baseline[h["household_id"]]["stale_pc_income"]) > 0.9 * len(scored)


# ------------------------------------------------------------ the family command

def _family():
    spec = importlib.util.spec_from_file_location("evaluate_family", ROOT / "models" / "evaluate_family.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_family_help_runs():
    done = subprocess.run([sys.executable, str(ROOT / "models" / "evaluate_family.py"), "--help"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "--worlds" in done.stdout


def test_family_table_names_the_worst_world():
    fam = _family()
    fake = {"ranking": {"truth_scored_households": 500, "truth_positives": 60, "k": 50,
                        "model": {"auc": 0.80, "precision_at_k": 0.40},
                        "baseline": {"auc": 0.77, "precision_at_k": 0.42},
                        "oracle": {"precision_at_k": 0.80}, "p_at_k_of_oracle": 0.5},
            "flat": {"urban_rural_recall_gap": 0.1}}
    better = json.loads(json.dumps(fake))
    better["ranking"]["model"] = {"auc": 0.85, "precision_at_k": 0.60}
    better["ranking"]["p_at_k_of_oracle"] = 0.75
    rows = [{"world": "a", "dynamics": "check_months=6", "months": 18, **fam.flatten(fake)},
            {"world": "b", "dynamics": "default", "months": 12, **fam.flatten(better)},
            {"world": "c", "months": 24, "error": "exit 1; see log"}]
    summary = fam.summarise(rows)
    assert summary["worst_world"] == "a" and summary["median_share_of_oracle"] == pytest.approx(0.625)
    assert summary["worlds_meeting_bar"] == 1 and summary["failed"] == ["c"]
    text = fam.table(rows, summary, {"command": "x", "finished": "now", "wall_seconds": 60, "scale": "county"})
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(lines) == 4 and len({line.count("|") for line in lines}) == 1
    assert "| a | check_months=6 | 18 | 500 (50) | 0.800 | 0.400 | 0.770 | 0.420 | 0.800 | 50% | 52% |" in text
    assert "**Worst world:** a (50%" in text


def test_family_refuses_unknown_world_and_reuse_without_keep(capsys):
    with pytest.raises(SystemExit):
        _family().parse(["--worlds", "atlantis"])
    assert "unknown world(s) atlantis" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _family().parse(["--reuse"])
    assert "--reuse needs --keep" in capsys.readouterr().err


def test_a_run_on_some_worlds_leaves_the_family_table_alone(tmp_path):
    """The model card quotes models/family.md, the whole family's run: a run on some worlds
    (a check of one world) wrote over it."""
    fam = _family()
    assert fam.parse([]).out == ROOT / "models" / "family.md"
    assert fam.parse(["--worlds", "external-d", "--keep", str(tmp_path)]).out == tmp_path / "family.md"
    assert fam.parse(["--worlds", "external-d"]).out is None
    assert fam.parse(["--worlds", "external-d", "--out", str(tmp_path / "x.md")]).out == tmp_path / "x.md"
