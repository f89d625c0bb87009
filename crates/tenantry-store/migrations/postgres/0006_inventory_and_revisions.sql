-- Runs of several kinds; what each run touched; the pods as a run left them; and the
-- revisions: each successful deploy's rendered manifests (sealed), like a Helm history.
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'deploy';
ALTER TABLE runs ADD COLUMN pods TEXT;

CREATE TABLE run_objects (
    run_id           BIGINT NOT NULL REFERENCES runs (id),
    seq              BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    namespace        TEXT NOT NULL,
    name             TEXT NOT NULL,
    uid              TEXT NOT NULL,
    resource_version TEXT NOT NULL,
    action           TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE revisions (
    client_number BIGINT NOT NULL REFERENCES clients (number),
    namespace     TEXT NOT NULL,
    number        BIGINT NOT NULL,
    run_id        BIGINT NOT NULL REFERENCES runs (id),
    created_at    TEXT NOT NULL,
    image         TEXT NOT NULL,
    manifests     BYTEA NOT NULL,
    PRIMARY KEY (client_number, namespace, number)
);
