-- Feature group season: the time of year the 3 months after $as_of fall in,
-- for the household's 城乡属性. Informal and farm income, which no agency
-- records, rises and falls with the seasons (harvests, the winter slack) and
-- differently in town and country; with a year of labelled history behind it
-- the model learns from past years how much risk each season adds.
-- Grain: one row per household of feature_population.
--   season   categorical: 城乡属性 and the calendar month of $as_of, e.g. 农村-12
--            (used only when the labelled months cover all twelve calendar
--            months: pipelines/score/train.py, SEASONAL)
SELECT
    h.household_id,
    h.urban_rural || '-' || lpad(month($as_of::DATE)::VARCHAR, 2, '0') AS season
FROM feature_population h
