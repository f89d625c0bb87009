-- Outgoing webhooks: who is told of which events, and every delivery with each attempt.
CREATE TABLE webhooks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    format     TEXT NOT NULL CHECK (format IN ('json', 'slack')),
    secret     BYTEA,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id    BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event         TEXT NOT NULL,
    body          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts      BIGINT NOT NULL,
    next_at       BIGINT NOT NULL,
    claimed_by    TEXT,
    claimed_until BIGINT,
    created_at    TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);

CREATE TABLE webhook_attempts (
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n           BIGINT NOT NULL,
    at          TEXT NOT NULL,
    code        BIGINT,
    error       TEXT,
    PRIMARY KEY (delivery_id, n)
);
