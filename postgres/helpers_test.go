package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/clock/clocktest"
)

// defaultTestConn is the test database when FUNCD_TEST_POSTGRES is not set.
const defaultTestConn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// epoch is where the tests' fake clocks start.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func testConnString() string {
	if s := os.Getenv("FUNCD_TEST_POSTGRES"); s != "" {
		return s
	}
	return defaultTestConn
}

// newSchema returns the name of a fresh schema for one test and drops it when
// the test ends. The test fails (it never skips) when the database is not
// reachable.
func newSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testConnString())
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s: %v\n"+
			"Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "+
			"or point FUNCD_TEST_POSTGRES at a database the tests may create schemas in.", testConnString(), err)
	}
	conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "funcd_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testConnString())
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// openIn opens a Store on schema with clk and closes it when the test ends.
func openIn(t testing.TB, schema string, clk clock.Clock) *Store {
	t.Helper()
	s, err := Open(context.Background(), testConnString(), Options{Clock: clk, Schema: schema})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openTest opens a Store on a fresh schema with a fake clock.
func openTest(t testing.TB) (*Store, *clocktest.Fake) {
	t.Helper()
	clk := clocktest.New(epoch)
	return openIn(t, newSchema(t), clk), clk
}

// waitListening waits until s's listener is in place, so that a test can
// count on notifications from other stores.
func waitListening(t testing.TB, s *Store) {
	t.Helper()
	select {
	case <-s.watch.listening:
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not connect")
	}
}

// signalled waits for a value on ch; it fails the test after a generous
// deadline (a hang, not a timing assertion).
func signalled(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("no signal: %s", what)
	}
}

// drain empties a watch channel.
func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}
