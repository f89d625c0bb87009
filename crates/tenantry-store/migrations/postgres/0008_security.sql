-- Security hardening (ASVS level 2).
--
-- Login throttling replaces the per-account lockout: failures are counted per account,
-- per source address and per (account, address), each with its own growing delay; tries
-- while a delay runs are refused without counting (an account's own row has address '',
-- an address's own row user_name ''). Addresses an account logged in from before are
-- known, and not slowed by an attack on the account from elsewhere.
DROP TABLE login_failures;

CREATE TABLE login_throttle (
    scope         TEXT NOT NULL CHECK (scope IN ('account', 'address', 'pair')),
    user_name     TEXT NOT NULL,
    address       TEXT NOT NULL,
    failures      BIGINT NOT NULL,
    last_at       BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    PRIMARY KEY (scope, user_name, address)
);

CREATE TABLE login_known (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, address)
);

-- API tokens belong to a user (their rights are the lower of the token's and the
-- owner's, and they go with the owner) and expire.
ALTER TABLE api_tokens ADD COLUMN owner_id BIGINT REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
UPDATE api_tokens SET owner_id = (SELECT id FROM users WHERE users.name = api_tokens.created_by);
UPDATE api_tokens SET expires_at = created_at + 90 * 86400;
DELETE FROM api_tokens WHERE owner_id IS NULL;

CREATE INDEX audit_by_time ON audit (at);
