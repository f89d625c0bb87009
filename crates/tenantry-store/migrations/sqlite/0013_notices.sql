-- Events told once across every server on the catalog (a drift told stays told through
-- restarts and on peers): the key of each, until it is forgotten.
CREATE TABLE notices (
    key TEXT PRIMARY KEY,
    at  TEXT NOT NULL
);
