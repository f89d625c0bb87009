-- Several servers drive a rollout together: each step is decided under the rollout's
-- lock, and a client a driver took is claimed by it (who, when) until its run is
-- recorded; a claim whose driver died before its run began lapses and the client is
-- pending again. Drivers heard from within their lease share the batch.
ALTER TABLE rollout_clients ADD COLUMN claimed_by TEXT;
ALTER TABLE rollout_clients ADD COLUMN claimed_at BIGINT;

CREATE TABLE rollout_drivers (
    rollout_id BIGINT NOT NULL REFERENCES rollouts (id),
    driver     TEXT NOT NULL,
    heartbeat  BIGINT NOT NULL,
    PRIMARY KEY (rollout_id, driver)
);
