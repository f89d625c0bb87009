-- The catalog: clients and contacts, namespaces, parameters, env vars.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('client', 0);

CREATE TABLE clients (
    number      BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    archived_at TEXT
);

CREATE TABLE contacts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_number BIGINT NOT NULL REFERENCES clients (number),
    name          TEXT NOT NULL,
    role          TEXT,
    note          TEXT
);
CREATE INDEX contacts_client ON contacts (client_number);

CREATE TABLE contact_points (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_number BIGINT NOT NULL REFERENCES clients (number),
    contact_id    BIGINT REFERENCES contacts (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('phone', 'email')),
    value         TEXT NOT NULL
);
CREATE INDEX contact_points_client ON contact_points (client_number);

CREATE TABLE namespaces (
    name          TEXT PRIMARY KEY,
    k8s_namespace TEXT NOT NULL,
    api_root_url  TEXT NOT NULL,
    token         BYTEA NOT NULL,
    ca_bundle     TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE param_defs (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('plain', 'secret', 'generated', 'builtin')),
    generator   TEXT,
    builtin     BIGINT NOT NULL
);

-- scope '' is the global value; otherwise the namespace's name.
CREATE TABLE param_values (
    name       TEXT NOT NULL REFERENCES param_defs (name),
    scope      TEXT NOT NULL,
    plain      TEXT,
    sealed     BYTEA,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, scope),
    CHECK ((plain IS NULL) <> (sealed IS NULL))
);

CREATE TABLE env_vars (
    scope    TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (scope, name)
);
