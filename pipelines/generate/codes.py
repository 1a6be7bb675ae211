"""Integer codes the simulation uses for the contract's enums.

Each code is the index of the value in the contract's own tuple, so rendering
a column is a lookup into pipelines.sources.contract and cannot drift from it.
"""

from __future__ import annotations

from pipelines.sources.contract import (
    CATEGORIES,
    DISABILITY_TYPES,
    GRADES,
    INSURANCE_TYPES,
    REG_TYPES,
    spec,
)

# 保障类别
DIBAO, TEKUN, BIANYUAN, RIGID, OTHER = range(5)
assert CATEGORIES[DIBAO] == "低保" and CATEGORIES[OTHER] == "其他低收入"
NONE = -1  # not monitored / no value

# 保障状态
ACTIVE, EXITED = 0, 1
STATUS = spec("mz", "households").column("保障状态").values

# 与户主关系
RELATIONS = spec("mz", "members").column("与户主关系").values
SELF, SPOUSE, CHILD, PARENT, SIBLING, GRANDCHILD, GRANDPARENT, OTHER_REL = range(8)
assert RELATIONS[SELF] == "本人" and RELATIONS[OTHER_REL] == "其他"

SEXES = spec("mz", "members").column("性别").values  # 男, 女: index = female flag
ABILITIES = spec("mz", "members").column("劳动能力").values
ABLE, PARTIAL, UNABLE = range(3)
HEALTHS = spec("mz", "members").column("健康状况").values
HEALTHY, CHRONIC, SEVERE, DISABLED = range(4)
URBAN_RURAL = spec("mz", "households").column("城乡属性").values  # 城市, 农村
YES, NO = "是", "否"

TYPES = DISABILITY_TYPES  # code 0..6, certificate digit = code + 1
GRADE_NAMES = GRADES  # grade 1..4 -> GRADES[grade - 1]
CERT_STATUS = spec("cl", "disability").column("证件状态").values  # 有效, 注销

REGISTRATIONS = REG_TYPES
EMPLOY, EMPLOY_END, UNEMPLOY, UNEMPLOY_END = range(4)
INSURANCES = INSURANCE_TYPES
PENSION, UNEMPLOYMENT_INS, RESIDENT_PENSION = range(3)

# Person kinds
IN_HOUSEHOLD, CL_ONLY, RS_ONLY = range(3)

# Household events of a month (bit flags; truth.household_months.events)
EVENTS = (
    "job_loss", "job_gain", "severe_illness", "new_disability", "disability_worse",
    "death", "member_left", "birth", "income_check", "applied", "entered_dibao",
    "left_dibao", "exited", "entered_monitoring",
)
EVENT = {name: 1 << i for i, name in enumerate(EVENTS)}
