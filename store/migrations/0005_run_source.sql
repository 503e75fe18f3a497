-- 0005: how each run's configuration was chosen: grid, random, or for
-- model-based search startup (random, before the model) and model (proposed
-- by TPE from the results so far). Empty for runs recorded before.

ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT '';
