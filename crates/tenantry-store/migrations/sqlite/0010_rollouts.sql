-- Fleet rollouts: one change to many clients, canary first, in batches. The state is
-- here, not in a process: whoever holds the claim (owner, heartbeat) drives it, and a
-- client moves from pending to running once, by a conditional update.
CREATE TABLE rollouts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace  TEXT NOT NULL,
    plan       TEXT NOT NULL,
    request    TEXT NOT NULL CHECK (request IN ('go', 'pause', 'abort')),
    status     TEXT NOT NULL CHECK (status IN ('running', 'paused', 'halted', 'succeeded', 'aborted')),
    reason     TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    owner      TEXT,
    heartbeat  BIGINT
);

CREATE TABLE rollout_clients (
    rollout_id      BIGINT NOT NULL REFERENCES rollouts (id),
    client_number   BIGINT NOT NULL REFERENCES clients (number),
    position        BIGINT NOT NULL,
    canary          BIGINT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'up-to-date', 'running', 'succeeded', 'failed')),
    run_id          BIGINT REFERENCES runs (id),
    revision_before BIGINT,
    reason          TEXT,
    done_at         BIGINT,
    PRIMARY KEY (rollout_id, client_number)
);
