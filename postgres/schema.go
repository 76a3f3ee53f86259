package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema's versions in order: migrations[i] takes the
// schema from version i to i+1. Never edit one that has shipped; append.
//
// Times are int64 Unix nanoseconds from the store's clock (exact round trips,
// cheap comparisons); NULL is the zero time, or "never" for an expiry. Names
// use the "C" collation so that listings sort by bytes, as Azure's do.
var migrations = []string{
	// 1: queues, blobs, leases, schedules, receipts, checkpoints.
	`
CREATE TABLE funcd_queues (
	name       text COLLATE "C" PRIMARY KEY,
	created_ns bigint NOT NULL
);

-- Pop receipts come from one sequence, so a receipt is never reused.
CREATE SEQUENCE funcd_pop_receipts;

-- Only seq, queue and id are indexed, and they never change, so that the
-- updates of a receive can be HOT updates.
CREATE TABLE funcd_messages (
	seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	queue         text COLLATE "C" NOT NULL,
	id            uuid NOT NULL,
	pop_receipt   bigint,
	body          bytea NOT NULL,
	dequeue_count bigint NOT NULL DEFAULT 0,
	inserted_ns   bigint NOT NULL,
	expires_ns    bigint,
	visible_ns    bigint NOT NULL
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX funcd_messages_id ON funcd_messages (id);
CREATE INDEX funcd_messages_queue ON funcd_messages (queue, seq);

CREATE TABLE funcd_containers (
	name       text COLLATE "C" PRIMARY KEY,
	created_ns bigint NOT NULL
);

-- Every put takes a new seq, which orders the blob feed and makes the ETag.
CREATE SEQUENCE funcd_blob_seq;

CREATE TABLE funcd_blobs (
	container    text COLLATE "C" NOT NULL,
	name         text COLLATE "C" NOT NULL,
	seq          bigint NOT NULL,
	etag         text NOT NULL,
	size         bigint NOT NULL,
	content_type text NOT NULL,
	content_md5  bytea,
	metadata     jsonb NOT NULL,
	created_ns   bigint NOT NULL,
	modified_ns  bigint NOT NULL,
	body         bytea NOT NULL,
	PRIMARY KEY (container, name)
);
-- Uncompressed out-of-line storage lets a reader fetch a slice of a large
-- blob without reading all of it.
ALTER TABLE funcd_blobs ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE INDEX funcd_blobs_seq ON funcd_blobs (container, seq);

-- A lease's row stays after release (owner ''), so that its token keeps
-- growing.
CREATE TABLE funcd_leases (
	name       text COLLATE "C" PRIMARY KEY,
	owner      text NOT NULL,
	token      bigint NOT NULL,
	expires_ns bigint NOT NULL
);

CREATE TABLE funcd_schedules (
	name            text COLLATE "C" PRIMARY KEY,
	last_ns         bigint,
	next_ns         bigint,
	last_updated_ns bigint
);

CREATE TABLE funcd_receipts (
	function   text NOT NULL,
	container  text NOT NULL,
	name       text NOT NULL,
	etag       text NOT NULL,
	owner      text NOT NULL,
	expires_ns bigint NOT NULL,
	completed  boolean NOT NULL,
	PRIMARY KEY (function, container, name, etag)
);

CREATE TABLE funcd_checkpoints (
	name  text COLLATE "C" PRIMARY KEY,
	value text NOT NULL
);
`,
	// 2: Durable Functions task hubs (durable.go).
	`
CREATE TABLE funcd_durable_hubs (
	name       text COLLATE "C" PRIMARY KEY,
	created_ns bigint NOT NULL
);

CREATE TABLE funcd_durable_instances (
	hub           text COLLATE "C" NOT NULL,
	id            text COLLATE "C" NOT NULL,
	execution_id  text NOT NULL,
	name          text NOT NULL,
	version       text NOT NULL,
	status        integer NOT NULL,
	input         text NOT NULL,
	output        text NOT NULL,
	custom_status text NOT NULL,
	parent_id     text NOT NULL,
	state         bytea,
	created_ns    bigint NOT NULL,
	updated_ns    bigint NOT NULL,
	PRIMARY KEY (hub, id)
);
CREATE INDEX funcd_durable_instances_created ON funcd_durable_instances (hub, created_ns, id);

CREATE TABLE funcd_durable_history (
	hub      text COLLATE "C" NOT NULL,
	instance text COLLATE "C" NOT NULL,
	seq      integer NOT NULL,
	event    bytea NOT NULL,
	PRIMARY KEY (hub, instance, seq)
);

CREATE TABLE funcd_durable_messages (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	hub          text COLLATE "C" NOT NULL,
	instance     text COLLATE "C" NOT NULL,
	execution_id text NOT NULL,
	visible_ns   bigint,
	due_ns       bigint NOT NULL,
	event        bytea NOT NULL
);
-- Ready work, oldest due first (the id breaks ties in send order).
CREATE INDEX funcd_durable_messages_due ON funcd_durable_messages (hub, due_ns, id);
-- One instance's inbox, in ID order.
CREATE INDEX funcd_durable_messages_inbox ON funcd_durable_messages (hub, instance, id);

CREATE TABLE funcd_durable_locks (
	hub      text COLLATE "C" NOT NULL,
	instance text COLLATE "C" NOT NULL,
	owner    text NOT NULL,
	token    bigint NOT NULL,
	until_ns bigint NOT NULL,
	PRIMARY KEY (hub, instance)
);
CREATE INDEX funcd_durable_locks_until ON funcd_durable_locks (hub, until_ns);
-- A work item's reads find its instance by the lock's token.
CREATE INDEX funcd_durable_locks_token ON funcd_durable_locks (token);

CREATE TABLE funcd_durable_tasks (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	hub          text COLLATE "C" NOT NULL,
	instance     text COLLATE "C" NOT NULL,
	execution_id text NOT NULL,
	name         text NOT NULL,
	task_id      integer NOT NULL,
	input        text NOT NULL,
	visible_ns   bigint,
	due_ns       bigint NOT NULL,
	attempts     integer NOT NULL DEFAULT 0,
	owner        text NOT NULL DEFAULT '',
	token        bigint NOT NULL DEFAULT 0
);
CREATE INDEX funcd_durable_tasks_due ON funcd_durable_tasks (hub, due_ns, id);
CREATE INDEX funcd_durable_tasks_instance ON funcd_durable_tasks (hub, instance);
`,
}

// migrate brings the schema up to the newest version and returns the name of
// the schema the tables are in. It runs in one transaction holding an
// advisory lock keyed by the schema, so that processes starting together
// wait for each other instead of racing to create the same tables.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) (string, error) {
	var name string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			`SELECT pg_advisory_xact_lock(hashtext('funcd'), hashtext(coalesce(nullif($1, ''), current_schema(), '')))`,
			schema); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if schema != "" {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
				return fmt.Errorf("create schema %q: %w", schema, err)
			}
		}
		var cur *string
		if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&cur); err != nil {
			return err
		}
		if cur == nil {
			return fmt.Errorf("no schema in the search_path exists; set search_path in the connection string or Options.Schema")
		}
		name = *cur
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS funcd_schema_version (version integer NOT NULL)`); err != nil {
			return fmt.Errorf("create funcd_schema_version: %w", err)
		}
		var version int
		err := tx.QueryRow(ctx, `SELECT version FROM funcd_schema_version`).Scan(&version)
		switch {
		case isNoRows(err):
			if _, err := tx.Exec(ctx, `INSERT INTO funcd_schema_version (version) VALUES (0)`); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("read schema version: %w", err)
		}
		if version > len(migrations) {
			return fmt.Errorf("schema %q is at version %d, newer than this funcd knows (%d); upgrade funcd", name, version, len(migrations))
		}
		for v := version; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrate schema %q to version %d: %w", name, v+1, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE funcd_schema_version SET version = $1`, len(migrations))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("postgres: schema: %w", err)
	}
	return name, nil
}
