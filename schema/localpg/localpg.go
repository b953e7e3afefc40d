// Package localpg starts a throw-away PostgreSQL cluster from the machine's own server
// binaries, listening only on a unix socket inside its directory. `make run` uses it when
// DATABASE_URL is unset, and schematest when TEST_DATABASE_URL is unset.
//
// PostgreSQL refuses to run as root; when the process is root the cluster runs as the
// `postgres` system user (runuser), in a directory that user owns.
package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
)

// Cluster is a running local PostgreSQL.
type Cluster struct {
	dir   string
	bin   string
	owner *user.User // nil when running as ourselves
}

// Start initializes dir (if it holds no cluster yet) and starts PostgreSQL on a unix socket
// in dir, or reuses the cluster already running there.
func Start(ctx context.Context, dir string) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: abs, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root and there is no `postgres` system user to run PostgreSQL as (PostgreSQL refuses root): install the postgresql package or set DATABASE_URL")
		}
		c.owner = u
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.data(), "PG_VERSION")); err != nil {
		if out, err := c.run(ctx, "initdb", "-D", c.data(), "-U", "postgres", "--auth=trust",
			"-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"); err != nil {
			return nil, fmt.Errorf("initdb in %s: %w\n%s", c.data(), err, out)
		}
	}
	if c.running(ctx) {
		return c, nil
	}
	_ = os.Remove(filepath.Join(c.data(), "postmaster.pid")) // stale after a hard kill
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c max_connections=200", c.dir)
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "postgres.log"),
		"-o", opts, "-w", "-t", "60", "start"); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %w\n%s(see %s)", err, out, filepath.Join(c.dir, "postgres.log"))
	}
	return c, nil
}

// URL is the connection string for database name on this cluster.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&sslmode=disable", name, c.dir)
}

// Stop shuts the cluster down (fast mode); its files stay for the next Start.
func (c *Cluster) Stop(ctx context.Context) error {
	if out, err := c.run(ctx, "pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) running(ctx context.Context) bool {
	_, err := c.run(ctx, "pg_ctl", "-D", c.data(), "status")
	return err == nil
}

func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	if c.owner == nil {
		return nil
	}
	uid, _ := strconv.Atoi(c.owner.Uid)
	gid, _ := strconv.Atoi(c.owner.Gid)
	// The postgres user must reach the directory: make its parents traversable.
	for p := filepath.Dir(c.dir); p != "/"; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, st.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("make %s traversable for postgres: %w", p, err)
			}
		}
	}
	return filepath.Walk(c.dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.owner != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.owner.Username, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl's postmaster must not die with our process group on Ctrl-C before Stop.
	cmd.SysProcAttr = detached()
	err := cmd.Run()
	return out.Bytes(), err
}

// findBinaries locates initdb and pg_ctl: on PATH, else the newest
// /usr/lib/postgresql/*/bin (Debian's layout).
func findBinaries() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if _, err := os.Stat(filepath.Join(filepath.Dir(real), "initdb")); err == nil {
				return filepath.Dir(real), nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install them (Debian: apt-get install postgresql) or set DATABASE_URL to an existing database")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}
