"""Chinese names for the codes the ledgers record: statuses, quarantine reasons, repairs, checks.

Quarantine reasons are named in pipelines.sources.reason_names (ingest uses them too);
the rest here. One code → 中文 table each; the report shows a name beside its code (`named`).
"""

from __future__ import annotations

import re

from pipelines.sources.reason_names import REASONS

STATUSES = {
    "loaded": "已入库",
    "skipped_duplicate": "重复未入库",
    "rejected": "已拒收",
    "held": "暂缓",
    "superseded": "已被更正",
    "pending": "待处理",
}


CHECKS = {  # expectations' meta.check (expectations/*.json); a quarantine reason is gx:<check>
    "cert_digits_agree": "残疾人证号与身份证号一致",
    "cert_format": "残疾人证号格式",
    "code12_format": "12位区划代码格式",
    "column_exists": "列存在",
    "contrib_base_plausible": "缴费基数合理",
    "date_range": "日期范围",
    "duplicate_key": "主键不重复",
    "household_size_range": "家庭人口数范围",
    "id_check": "身份证号校验位",
    "id_format": "身份证号格式",
    "in_set": "取值在代码表内",
    "line_not_null": "行号非空",
    "line_unique": "行号不重复",
    "negative_amount": "金额非负",
    "not_blank": "非空白",
    "not_null": "非空",
    "yyyymm": "年月格式",
}

REPAIRS = {  # audit.repairs.kind (docs/ingest.md)
    "id_whitespace": "身份证号去空格", "id_fullwidth": "身份证号全角转半角", "id_lowercase_x": "身份证号x改大写",
    "id_float_notation": "身份证号还原数字", "id_15_to_18": "15位身份证号升18位",
    "date_whitespace": "日期去空格", "date_slash": "日期斜杠格式", "date_dot": "日期点号格式",
    "date_unpadded": "日期补零", "date_compact": "日期8位数字", "date_chinese": "日期中文格式",
    "date_datetime": "日期带时间", "date_time_dropped": "日期带时刻（取日期）", "date_excel_serial": "日期Excel序列号",
    "amount_whitespace": "金额去空格", "amount_yuan_suffix": "金额去“元”", "amount_thousands": "金额去千分位",
    "amount_rounded": "金额四舍五入到分",
    "int_whitespace": "整数去空格", "int_float_notation": "整数去小数点",
    "yyyymm_whitespace": "年月去空格", "yyyymm_separator": "年月去分隔符", "yyyymm_chinese": "年月中文格式",
    "yyyymm_float_notation": "年月去小数点", "yyyymm_datetime": "年月带日期",
    "enum_whitespace": "代码值去空格", "grade_spelling": "残疾等级写法", "chengzhen_as_chengshi": "城镇改城市",
    "code_whitespace": "代码去空格", "code_float_notation": "代码去小数点", "text_whitespace": "文本去空格",
    "key_float_notation": "家庭编号去小数点",
}

ALERTS = {  # audit.alerts.kind and .level
    "delivery_rejected": "交付被拒收", "delivery_held": "交付暂缓", "delivery_refused": "交付无法读取",
    "delivery_misnamed": "交付目录名有误", "snapshot_size_confirmed": "快照规模变化已确认", "source_stale": "来源数据过期",
    "list_corrected": "名单已更正", "standard_outdated": "保障标准待更新", "task_failed": "任务失败",
    "error": "错误", "warning": "警告",
}

MESSAGES = [  # the commonest ledger messages, in Chinese; the English stays beside
    (r"replay of (\S+) \(same content\), nothing loaded", "与 {0} 内容相同，未重复入库"),
    (r"(\S+): (\d+) data rows but _READY says (\d+) .*", "{0}：实有 {1} 行，_READY 记为 {2} 行（文件被截断或多出）"),
    (r"file (\S+) missing from the delivery", "交付中缺少文件 {0}"),
    (r"_READY lists (\S+), which is not in the delivery", "_READY 列出的 {0} 不在交付中"),
    (r"_READY gives no count for (\S+)", "_READY 未给出 {0} 的行数"),
]


def message_zh(message: str | None) -> str:
    """A ledger message in Chinese when it is a known one (audit.load_ledger keeps the English), else as recorded."""
    if not message:
        return ""
    for pattern, template in MESSAGES:
        found = re.fullmatch(pattern, message)
        if found:
            return template.format(*found.groups())
    return message


def repair_name(kind: str | None) -> str:
    """A repair kind, several joined by "+" included, as "中文 kind"."""
    parts = (kind or "").split("+")
    if not kind or any(p not in REPAIRS for p in parts):
        return kind or "—"
    return f"{'+'.join(REPAIRS[p] for p in parts)} {kind}"


def status_name(code: str | None) -> str:
    return named(code, STATUSES)


def reason_name(code: str | None) -> str:
    """A quarantine reason, `gx:<check>` included, as "中文 code"."""
    if code and code.startswith("gx:"):
        check = code[3:]
        return f"质量规则：{CHECKS[check]} {code}" if check in CHECKS else code
    return named(code, REASONS)


def check_name(expectation: str | None) -> str:
    """A dq_results expectation ("<check>:<field>") as "中文 expectation"."""
    check = (expectation or "").split(":")[0]
    return f"{CHECKS[check]} {expectation}" if check in CHECKS else (expectation or "—")


def named(code: str | None, names: dict[str, str]) -> str:
    """"中文 code" when the code has a name, else the code as recorded."""
    if not code:
        return "—"
    return f"{names[code]} {code}" if code in names else code
