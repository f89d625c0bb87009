-- What an operation left a client's environment in a namespace as: deployed or
-- suspended (and the replicas to bring back on resume), and the run that set it.
CREATE TABLE environments (
    client_number BIGINT NOT NULL REFERENCES clients (number),
    namespace     TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('deployed', 'suspended', 'decommissioned')),
    replicas      BIGINT NOT NULL,
    run_id        BIGINT NOT NULL REFERENCES runs (id),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (client_number, namespace)
);
