-- A list re-issued because a same-date correction changed what it showed (更正).
ALTER TABLE audit.list_exports ADD COLUMN IF NOT EXISTS correction BOOLEAN DEFAULT false;
