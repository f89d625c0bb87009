-- Request templates with their full history, and the secrets generated per client.
CREATE TABLE templates (
    name       TEXT PRIMARY KEY,
    version    BIGINT NOT NULL,
    content    TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE template_versions (
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    content    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    note       TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

-- scope is the namespace: a client's environments in lms-dev and lms-prod do not share keys.
CREATE TABLE client_secrets (
    client_number BIGINT NOT NULL REFERENCES clients (number),
    scope         TEXT NOT NULL,
    name          TEXT NOT NULL,
    sealed        BYTEA NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (client_number, scope, name)
);
