-- Self-heal per namespace target: drift found by a server's fleet view is corrected by
-- a deploy, rate-limited and audited (0: off, 1: on).
ALTER TABLE namespaces ADD COLUMN self_heal BIGINT NOT NULL DEFAULT 0;
