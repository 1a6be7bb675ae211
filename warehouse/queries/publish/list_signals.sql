-- Per scored household, the situations that choose its action (check_rules.yaml): household_id, signals.
WITH scored AS ({scored}),
members AS (
    SELECT m.household_id, m.person_key, m.work_ability, m.health, m.valid_from, p.birth_date
    FROM core.members_asof($as_of) m
    JOIN scored s USING (household_id)
    LEFT JOIN core.persons p USING (person_key)
),
recent AS (
    SELECT * FROM core.change_events WHERE seen_date > $since AND seen_date <= $as_of
),
severe AS (
    SELECT DISTINCT person_key FROM core.certificates_asof($as_of) WHERE cert_status = '有效' AND grade_rank <= 2
),
baseline AS (
    SELECT min(extract_date) AS first_snapshot FROM core.snapshots WHERE source = 'mz'
),
signals AS (
    SELECT household_id, 'member_died_or_left' AS signal
    FROM recent WHERE kind = 'member_died_or_left'
    UNION
    SELECT m.household_id, 'serious_illness'
    FROM members m, baseline b
    WHERE m.health = '重病' AND m.valid_from > $since AND m.valid_from > b.first_snapshot
      AND NOT EXISTS (
          SELECT 1 FROM core.member_history before
          WHERE before.household_id = m.household_id AND before.person_key = m.person_key
            AND before.valid_to = m.valid_from AND before.health = '重病')
    UNION
    SELECT m.household_id, 'severe_disability_new'
    FROM recent e JOIN members m USING (person_key) JOIN severe USING (person_key)
    WHERE e.kind IN ('new_disability', 'disability_worsened')
    UNION
    SELECT m.household_id, 'severe_disabled_adult'
    FROM members m JOIN severe USING (person_key)
    WHERE date_sub('year', m.birth_date, $as_of::DATE) >= 18
      AND m.person_key NOT IN (SELECT person_key FROM core.open_registrations($as_of, '就业登记'))
    UNION
    SELECT m.household_id, 'unemployed_member'
    FROM members m
    WHERE m.work_ability = '有劳动能力'
      AND (m.person_key IN (SELECT person_key FROM core.open_registrations($as_of, '失业登记'))
           OR m.person_key IN (SELECT person_key FROM recent WHERE kind = 'job_lost'))
)
SELECT household_id, list(signal ORDER BY signal) AS signals
FROM signals
GROUP BY household_id
