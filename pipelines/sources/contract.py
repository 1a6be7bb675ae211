"""The source data contract (../shared/contracts/sources.md) as data.

One place that names every delivered file, its headers, the type of each column,
the allowed enum values and which columns may be empty. The generator writes to
it, the readers and repairers check against it, the staging tables are named
after its English field names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CITY_CODE = "371500"
CITY_NAME = "聊城市"

COUNTIES: dict[str, str] = {
    "371502": "东昌府区",
    "371503": "茌平区",
    "371521": "阳谷县",
    "371522": "莘县",
    "371524": "东阿县",
    "371525": "冠县",
    "371526": "高唐县",
    "371581": "临清市",
}

# Region prefixes of 身份证号 that are 聊城's own: today's 3715xx, the old
# 聊城地区 3725xx and the old 茌平县 371523.
LOCAL_ID_PREFIXES = ("3715", "3725")

SOURCES = ("mz", "cl", "rs")
SOURCE_NAMES = {"mz": "民政", "cl": "残联", "rs": "人社"}

# Column kinds: what a value must look like once repaired.
ID = "id"  # 18-char 身份证号 (GB 11643)
CERT = "cert"  # 20-char 残疾人证号 = 身份证号 + category digit + grade digit
TEXT = "text"
KEY = "key"  # 家庭编号: text, except that a spreadsheet's rendering of an all-digit key as a float is undone
CODE12 = "code12"  # 12-digit 行政区划代码 of a village/community
ENUM = "enum"
INT = "int"
AMOUNT = "amount"  # decimal yuan, never negative
DATE = "date"
YYYYMM = "yyyymm"

DISABILITY_TYPES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
GRADES = ("一级", "二级", "三级", "四级")
CATEGORIES = ("低保", "特困", "低保边缘", "刚性支出困难", "其他低收入")
REG_TYPES = ("就业登记", "就业登记注销", "失业登记", "失业登记注销")
INSURANCE_TYPES = ("企业职工基本养老保险", "失业保险", "城乡居民基本养老保险")
YES_NO = ("是", "否")


@dataclass(frozen=True)
class Column:
    header: str  # as delivered (Chinese)
    field: str  # English name in the warehouse
    kind: str
    values: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class FileSpec:
    source: str
    name: str  # file stem as delivered: households, members, ...
    semantics: str  # "snapshot" or "append"
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return f"{self.source}_{self.name}"

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.columns]

    def column(self, header: str) -> Column:
        for c in self.columns:
            if c.header == header:
                return c
        raise KeyError(header)


C = Column
FILES: tuple[FileSpec, ...] = (
    FileSpec("mz", "households", "snapshot", (
        C("家庭编号", "household_id", KEY),
        C("户主身份证号", "head_id", ID),
        C("户主姓名", "head_name", TEXT, optional=True),
        C("行政区划代码", "division_code", CODE12),
        C("城乡属性", "urban_rural", ENUM, ("城市", "农村")),
        C("保障类别", "category", ENUM, CATEGORIES),
        C("保障状态", "status", ENUM, ("在册", "退出")),
        C("家庭人口数", "household_size", INT),
        C("月人均收入", "income_per_capita", AMOUNT, optional=True),
        C("核对日期", "check_date", DATE, optional=True),
        C("月保障金额", "benefit_amount", AMOUNT, optional=True),
        C("认定日期", "granted_date", DATE),
    )),
    FileSpec("mz", "members", "snapshot", (
        C("家庭编号", "household_id", KEY),
        C("身份证号", "person_id", ID),
        C("姓名", "name", TEXT, optional=True),
        C("与户主关系", "relation", ENUM,
          ("本人", "配偶", "子女", "父母", "兄弟姐妹", "孙子女", "祖父母", "其他")),
        C("性别", "sex", ENUM, ("男", "女")),
        C("出生日期", "birth_date", DATE),
        C("劳动能力", "work_ability", ENUM, ("有劳动能力", "部分丧失", "完全丧失")),
        C("健康状况", "health", ENUM, ("健康", "慢性病", "重病", "残疾")),
        C("在校生", "student", ENUM, YES_NO),
    )),
    FileSpec("cl", "disability", "snapshot", (
        C("残疾人证号", "cert_no", CERT),
        C("姓名", "name", TEXT, optional=True),
        C("残疾类别", "disability_type", ENUM, DISABILITY_TYPES),
        C("残疾等级", "grade", ENUM, GRADES),
        C("发证日期", "issue_date", DATE),
        C("证件状态", "cert_status", ENUM, ("有效", "注销")),
        C("行政区划代码", "division_code", CODE12),
        C("享受生活补贴", "living_subsidy", ENUM, YES_NO),
        C("享受护理补贴", "nursing_subsidy", ENUM, YES_NO),
    )),
    FileSpec("rs", "registrations", "append", (
        C("身份证号", "person_id", ID),
        C("姓名", "name", TEXT, optional=True),
        C("登记类型", "reg_type", ENUM, REG_TYPES),
        C("登记日期", "reg_date", DATE),
        C("单位名称", "employer", TEXT, optional=True),
        C("行政区划代码", "division_code", CODE12),
    )),
    FileSpec("rs", "contributions", "append", (
        C("身份证号", "person_id", ID),
        C("缴费年月", "contrib_month", YYYYMM),
        C("险种", "insurance", ENUM, INSURANCE_TYPES),
        C("缴费基数", "contrib_base", AMOUNT),
        C("单位名称", "employer", TEXT, optional=True),
    )),
)
del C

FILES_BY_KEY: dict[str, FileSpec] = {f.key: f for f in FILES}


def files_of(source: str) -> list[FileSpec]:
    return [f for f in FILES if f.source == source]


def spec(source: str, name: str) -> FileSpec:
    try:
        return FILES_BY_KEY[f"{source}_{name}"]
    except KeyError:
        raise KeyError(f"no file {name!r} in source {source!r}") from None


# Digits 19 and 20 of a 残疾人证号.
DISABILITY_TYPE_DIGIT = {t: str(i) for i, t in enumerate(DISABILITY_TYPES, start=1)}
GRADE_DIGIT = {g: str(i) for i, g in enumerate(GRADES, start=1)}
