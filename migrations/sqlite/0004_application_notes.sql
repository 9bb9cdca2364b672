-- Free-text notes on an application registration, kept for the administrators.

ALTER TABLE applications ADD COLUMN notes TEXT NOT NULL DEFAULT '';
