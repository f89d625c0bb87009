-- Provisioning runs, their steps (as a JSON report) and every request they sent.
CREATE TABLE runs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_number BIGINT NOT NULL REFERENCES clients (number),
    namespace     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    reason        TEXT,
    owner         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    heartbeat_at  TEXT NOT NULL,
    finished_at   TEXT,
    report        TEXT NOT NULL
);
-- One active run per client and namespace, across every process sharing the catalog.
CREATE UNIQUE INDEX runs_one_active ON runs (client_number, namespace) WHERE status = 'running';

CREATE TABLE run_requests (
    run_id      BIGINT NOT NULL REFERENCES runs (id),
    seq         BIGINT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    excerpt     TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
