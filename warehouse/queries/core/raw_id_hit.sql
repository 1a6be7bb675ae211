-- Whether {schema}.{table}.{column} holds a 身份证号 the warehouse knows (a row when it does).
-- {id_shape} is the pattern of 18 characters shaped like one (pipelines.core.marts.ID_SHAPE).
SELECT 1
FROM (
    SELECT unnest(regexp_extract_all(text, '{id_shape}')) AS candidate
    FROM (SELECT "{column}"::VARCHAR AS text FROM {schema}.{table})
    WHERE length(text) >= 18 AND regexp_matches(text, '[0-9]{{17}}')  -- cheap filter first
) c
JOIN restricted.person_identity i ON i.id_number = upper(c.candidate)
LIMIT 1
