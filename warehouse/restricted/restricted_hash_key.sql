-- The fallback key of the keyed hash that makes person_key, used only when the
-- environment gives none (DIBAO_HASH_KEY): generated once per warehouse by
-- pipelines.core.build.hash_key and never changed, so person keys stay stable.
-- Restricted: whoever holds the key can test a guessed 身份证号 against a key.
CREATE TABLE IF NOT EXISTS restricted.hash_key (
    key        VARCHAR   NOT NULL,  -- 64 hex characters (256 random bits)
    created_at TIMESTAMP NOT NULL
);
