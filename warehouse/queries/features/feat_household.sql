-- Feature group household: size and composition on $as_of, where the
-- household lives, and its 保障类别 (mz, latest snapshot on or before $as_of).
-- Grain: one row per household of feature_population.
--   urban_rural / category  categorical, as delivered (county_code comes with the keys)
--   members                 member rows listed (the head included), else 家庭人口数
--   size_mismatch           家庭人口数 minus the member rows (民政 learns of births and deaths late)
--   children / elderly      members under 18 / 60 or older on $as_of
--   students                在校生 = 是
--   unable_to_work          劳动能力 完全丧失;  partly_unable: 部分丧失
--   able_workers            aged 18-59, 有劳动能力, not a student, not 重病
--   dependants_per_worker   (members - able_workers) / max(able_workers, 1)
--   head_age                age of the 户主 on $as_of
--   months_since_category   months since 认定日期, the grant of the current 保障类别
WITH composition AS (
    SELECT
        household_id,
        count(*) AS member_rows,
        count(*) FILTER (WHERE age < 18) AS children,
        count(*) FILTER (WHERE age >= 60) AS elderly,
        count(*) FILTER (WHERE student = '是') AS students,
        count(*) FILTER (WHERE work_ability = '完全丧失') AS unable_to_work,
        count(*) FILTER (WHERE work_ability = '部分丧失') AS partly_unable,
        count(*) FILTER (WHERE age BETWEEN 18 AND 59 AND work_ability = '有劳动能力'
                           AND coalesce(student, '否') <> '是' AND coalesce(health, '') <> '重病') AS able_workers,
        max(age) FILTER (WHERE relation = '本人') AS head_age
    FROM feature_members
    GROUP BY household_id
)
SELECT
    h.household_id,
    h.urban_rural,
    h.category,
    coalesce(c.member_rows, h.household_size) AS members,
    h.household_size - coalesce(c.member_rows, h.household_size) AS size_mismatch,
    coalesce(c.children, 0) AS children,
    coalesce(c.elderly, 0) AS elderly,
    coalesce(c.students, 0) AS students,
    coalesce(c.unable_to_work, 0) AS unable_to_work,
    coalesce(c.partly_unable, 0) AS partly_unable,
    coalesce(c.able_workers, 0) AS able_workers,
    (coalesce(c.member_rows, h.household_size) - coalesce(c.able_workers, 0))
        / greatest(coalesce(c.able_workers, 0), 1) AS dependants_per_worker,
    c.head_age,
    date_diff('month', h.granted_date, $as_of::DATE) AS months_since_category
FROM feature_population h
LEFT JOIN composition c ON c.household_id = h.household_id
