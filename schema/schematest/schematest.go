// Package schematest gives a test package its own freshly migrated PostgreSQL database,
// dropped when the package's tests end. The server is TEST_DATABASE_URL when set, else a
// throw-away cluster (localpg) shared by all test packages of this machine.
package schematest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // database/sql driver

	"github.com/callplane/callplane/schema"
	"github.com/callplane/callplane/schema/localpg"
)

// DB is a test package's database.
type DB struct {
	*sqlx.DB
	URL string
}

// Main creates the database, runs m, drops the database and returns the exit code:
//
//	var db schematest.DB
//	func TestMain(m *testing.M) { os.Exit(schematest.Main(m, &db)) }
func Main(m *testing.M, out *DB) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := serverURL(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schematest:", err)
		return 1
	}
	name := fmt.Sprintf("callplane_test_%s_%d", pkgName(), os.Getpid())
	adb, err := sqlx.ConnectContext(ctx, "postgres", admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schematest: connect:", err)
		return 1
	}
	defer adb.Close()
	if _, err := adb.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		fmt.Fprintln(os.Stderr, "schematest: create database:", err)
		return 1
	}
	defer adb.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
	out.URL = withDatabase(admin, name)
	if out.DB, err = sqlx.ConnectContext(ctx, "postgres", out.URL); err != nil {
		fmt.Fprintln(os.Stderr, "schematest: connect:", err)
		return 1
	}
	if err := schema.Migrate(ctx, out.DB.DB); err != nil {
		fmt.Fprintln(os.Stderr, "schematest:", err)
		return 1
	}
	code := m.Run()
	out.DB.Close()
	return code
}

// Truncate empties the named tables between tests.
func Truncate(t testing.TB, db *sqlx.DB, tables ...string) {
	t.Helper()
	if _, err := db.Exec("TRUNCATE " + strings.Join(tables, ", ") + " RESTART IDENTITY CASCADE"); err != nil {
		t.Fatal(err)
	}
}

func serverURL(ctx context.Context) (string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("callplane-pgtest-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Test binaries of several packages start at once: one of them initializes the cluster.
	lock, err := os.OpenFile(filepath.Join(dir, "start.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	c, err := localpg.Start(ctx, filepath.Join(dir, "cluster"))
	if err != nil {
		return "", fmt.Errorf("%w (or set TEST_DATABASE_URL)", err)
	}
	return c.URL("postgres"), nil
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return raw + " dbname=" + name // key=value form
	}
	u.Path = "/" + name
	return u.String()
}

func pkgName() string {
	exe := filepath.Base(os.Args[0]) // e.g. campaigns.test
	exe = strings.TrimSuffix(exe, ".test")
	var b strings.Builder
	for _, r := range strings.ToLower(exe) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var freshSeq struct {
	sync.Mutex
	n int
}

// Fresh creates a migrated database of its own for one test, next to the package's, and
// drops it when the test ends; it returns the database's URL. For tests whose rows would
// disturb the package's other tests.
func (d *DB) Fresh(t testing.TB) string {
	t.Helper()
	freshSeq.Lock()
	freshSeq.n++
	name := fmt.Sprintf("callplane_test_%s_%d_fresh%d", pkgName(), os.Getpid(), freshSeq.n)
	freshSeq.Unlock()
	if _, err := d.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { d.Exec("DROP DATABASE " + name + " WITH (FORCE)") })
	u := withDatabase(d.URL, name)
	db, err := sqlx.Connect("postgres", u)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer db.Close()
	if err := schema.Migrate(context.Background(), db.DB); err != nil {
		t.Fatal(err)
	}
	return u
}
