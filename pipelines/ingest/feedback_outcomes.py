"""What became of each returned row, in Chinese, for the caseworker who returned it.

`outcomes(load)` lists every data row of a loaded feedback file: 已导入, 已修正后导入
(what was repaired), 隔离 (why, and the value to correct) or 未核查 (skipped).
`write_outcomes` writes them beside the returned file as `<file>.结果.csv`, which
the feedback folder loader never takes for a returned list.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from pathlib import Path

from pipelines.ingest.feedback import OUTCOME_SUFFIX, REJECTED, RESULTS, FeedbackLoad, Part
from pipelines.ingest.readers import LINE
from pipelines.publish.sheets import inert
from pipelines.sources.reason_names import REASONS

log = logging.getLogger(__name__)

LOADED, REPAIRED, QUARANTINED, SKIPPED = "已导入", "已修正后导入", "隔离", "未核查"
WHOLE_FILE_REJECTED = "整个文件未导入"
HEADER = ("表", "行号", "编号", "结果", "说明")
QUIET_REPAIRS = {"date_datetime", "date_excel_serial"}  # a date typed into Excel is stored so: nothing to tell
# What to do about a quarantined row, for the caseworker who returned it, where the
# reason's name (pipelines.sources.reason_names) alone would not say; others fall back to it.
ADVICE = {
    "duplicate_row": "与前面一行完全相同（重复行），只导入一次",
    "household_not_listed": "家庭编号不在任何已下发的名单上，请核对",
    "candidate_not_listed": "发现编号不在任何已下发的名单上，请核对",
    "enum_unknown": f"核查结果不是可选值（{'、'.join(RESULTS)}）之一",
    "check_date_in_future": "核查日期晚于导入当天",
    "check_before_listing": "核查日期不晚于该户（人）第一次列入名单的日期，核查应在名单下发之后",
    "date_unparseable": "无法识别的日期，请填写如 2024-07-03",
    "missing_field": "该行的列数少于表头",
    "extra_fields": "该行的列数多于表头",
    "malformed_line": "该行格式有误，无法读取",
    "id_lossy_float": "家庭编号被表格软件存成了数字，第15位以后的数字可能已改变：请把该列设为文本，按名单重新填写",
    "household_mismatch": "户主身份证号（脱敏）或户主姓名与该家庭编号在名单上的户主不一致，"
                          "家庭编号可能被改动（如被表格软件转成数字）：请按名单核对",
    "conflicting_results": "同一户（人）同一核查日期填了不同的核查结果，均未导入：请只保留一个结果",
    "cell_too_long": "单元格内容过长，未导入：请精简备注",
    "formula_no_value": "单元格是公式，文件里没有它的计算结果：请在表格软件中打开后另存，或填写数值",
    "cell_error": "单元格是错误值（如 #DIV/0!、#N/A），未导入：请改正后填写",
}


def reason_text(reason: str, column: str | None, raw: str | None) -> str:
    """`核查日期“上周”：无法识别的日期…`; an unknown code is shown as it is."""
    where = f"{column}“{raw if raw is not None else ''}”：" if column else ""
    return where + ADVICE.get(reason, REASONS.get(reason, reason))


def outcomes(load: FeedbackLoad) -> list[dict]:
    """One entry per data row of every returned sheet, in sheet and line order; for a
    rejected file one entry saying why nothing of it was loaded."""
    if load.status == REJECTED:
        return [{"表": "", "行号": "", "编号": "", "结果": WHOLE_FILE_REJECTED, "说明": load.message or ""}]
    return [row for part in load.parts for row in _part_outcomes(part)]


def _part_outcomes(part: Part) -> list[dict]:
    found: dict[int, dict] = {}

    def put(line: int, outcome: str, note: str) -> None:
        entry = found.setdefault(line, {"表": part.sheet, "行号": line, "编号": part.keys.get(line) or "",
                                        "结果": outcome, "说明": ""})
        entry["结果"] = outcome
        entry["说明"] = "；".join(x for x in (entry["说明"], note) if x)

    for line in part.skipped:
        put(line, SKIPPED, "核查结果、核查日期均为空：尚未核查，未导入")
    for line in part.clean[LINE].to_list():
        put(line, LOADED, "")
    for line, column, raw, kind, value in part.repairs.select(
            LINE, "column_name", "raw_value", "kind", "repaired_value").iter_rows():
        if line in found and found[line]["结果"] in (LOADED, REPAIRED) and kind not in QUIET_REPAIRS:
            put(line, REPAIRED, f"{column}“{raw}”按“{value}”导入")
    for line, column, raw, reason in part.quarantined().sort(LINE).iter_rows():
        if found.get(line, {}).get("结果") != QUARANTINED:
            found.pop(line, None)
        put(line, QUARANTINED, reason_text(reason, column, raw))
    return [found[line] for line in sorted(found)]


def write_outcomes(load: FeedbackLoad) -> Path | None:
    """`<file>.结果.csv` beside the returned file (UTF-8 with BOM, for Excel); None if it cannot be written."""
    path = load.file.with_name(load.file.name + OUTCOME_SUFFIX)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".outcome-", suffix=".csv", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.DictWriter(f, HEADER)
            writer.writeheader()
            # a returned cell echoed back must not run as a formula where the outcome file is opened
            writer.writerows({k: inert(v) if isinstance(v, str) else v for k, v in row.items()}
                             for row in outcomes(load))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("feedback %s: per-row outcomes not written beside it: %s", load.file.name, exc.strerror or exc)
        return None
    return path
