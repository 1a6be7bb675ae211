"""Chinese names of the quarantine reasons (audit.quarantine.reason), the one table.

The run report shows them beside the codes (pipelines.publish.report_names) and the
outcome file of a returned list falls back to them (pipelines.ingest.feedback_outcomes).
"""

REASONS = {  # docs/ingest.md, docs/outputs.md "Feedback"
    "missing_mandatory": "必填项为空",
    "missing_field": "缺少字段",
    "extra_fields": "字段多余",
    "duplicate_row": "重复行",
    "id_check_failed": "身份证号校验位错误",
    "id_lossy_float": "身份证号或编号存成数字时丢失了位数",
    "id_malformed": "身份证号格式错误",
    "cert_malformed": "残疾人证号格式错误",
    "date_unparseable": "日期无法识别",
    "date_out_of_range": "日期超出合理范围",
    "yyyymm_unparseable": "年月无法识别",
    "amount_negative": "金额为负",
    "amount_unparseable": "金额无法识别",
    "amount_out_of_range": "金额超出合理范围",
    "int_negative": "整数为负",
    "int_unparseable": "整数无法识别",
    "enum_unknown": "取值不在代码表内",
    "code_malformed": "代码格式错误",
    "malformed_line": "整行无法拆分",
    "cell_too_long": "单元格过长",
    "formula_no_value": "公式没有计算结果",
    "cell_error": "单元格为错误值",
    "household_not_listed": "家庭未在名单中",
    "candidate_not_listed": "发现编号未在名单中",
    "check_date_in_future": "核查日期晚于回收日",
    "check_before_listing": "核查日期早于列入名单",
    "household_mismatch": "家庭编号与户主不符",
    "conflicting_results": "同一天的核查结果互相矛盾",
}
