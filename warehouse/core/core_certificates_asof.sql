-- core.certificates_asof(d): every row of core.certificate_history valid on day d,
-- i.e. as the latest snapshot on or before d showed it. d is a DATE or
-- 'YYYY-MM-DD'. Grain: one row per certificate listed then.
CREATE OR REPLACE MACRO core.certificates_asof(d) AS TABLE
SELECT *
FROM core.certificate_history
WHERE valid_from <= d::DATE AND (valid_to IS NULL OR valid_to > d::DATE);
