-- Masked 身份证号 as the privacy rules allow outside restricted schemas:
-- first 6 and last 4 characters, the birth date and sequence starred.
CREATE OR REPLACE MACRO mask_id(id) AS
    CASE WHEN id IS NULL THEN NULL ELSE left(id, 6) || repeat('*', length(id) - 10) || right(id, 4) END;
