// Package pgtest gives tests outside package postgres a PostgreSQL schema
// of their own: the database of FUNCD_TEST_POSTGRES (the local test
// database by default), a fresh schema in it, dropped when the test ends.
// A test that needs PostgreSQL and cannot reach it fails, saying how to
// start it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConnString is the database the tests use: FUNCD_TEST_POSTGRES, else the
// local server's test database.
func ConnString() string {
	if s := os.Getenv("FUNCD_TEST_POSTGRES"); s != "" {
		return s
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Schema creates a schema named prefix_<random> and returns it with a
// connection string whose search_path selects it; the schema is dropped,
// with everything in it, when t ends.
func Schema(t testing.TB, prefix string) (schema, conn string) {
	t.Helper()
	base := ConnString()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s: %v\n"+
			"Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "+
			"or point FUNCD_TEST_POSTGRES at a database the tests may create schemas in.", base, err)
	}
	defer c.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = prefix + "_" + hex.EncodeToString(b[:])
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return schema, base + sep + "search_path=" + schema
}
