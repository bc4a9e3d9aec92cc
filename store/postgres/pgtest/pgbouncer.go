package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgBouncer starts a PgBouncer of its own in front of the server of dsn (a
// connection string New answered), in transaction mode, and answers the
// connection string of the same database through it (StartPgBouncer).
func PgBouncer(tb testing.TB, dsn string, poolSize int) string {
	tb.Helper()
	return StartPgBouncer(tb, poolSize).DSN(tb, dsn)
}

// Bouncer is a running PgBouncer in front of the test server.
type Bouncer struct{ b *pgbouncer }

// StartPgBouncer starts a PgBouncer of its own in front of the test server,
// in transaction mode, for every database of the server. The pooler listens
// on a free loopback port, lets the server's user in without a password
// (its auth_file names only that user) and keeps at most poolSize server
// connections per database; it stops when tb ends.
//
// Like New, it never skips silently: without a pgbouncer binary (on PATH or
// /usr/sbin) it fails when CI is set and otherwise skips with a line
// starting "PGBOUNCER UNAVAILABLE:" (Debian: apt-get install pgbouncer).
func StartPgBouncer(tb testing.TB, poolSize int) *Bouncer {
	tb.Helper()
	once.Do(func() { srv, srvErr = start() })
	if srvErr != nil {
		unavailable(tb, srvErr)
	}
	bin, err := pgbouncerBinary()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("pgtest: PgBouncer is required in CI: %v", err)
		}
		tb.Skipf("PGBOUNCER UNAVAILABLE: %v (Debian: apt-get install pgbouncer)", err)
	}
	cfg, err := pgx.ParseConfig(srv.dsn("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: pgbouncer: parse the server's connection string: %v", err)
	}
	var lastErr error
	// The free port is found by binding and releasing it: another process
	// may take it in between, so a failed start is tried again on another.
	for range 3 {
		b, err := startPgBouncer(bin, cfg, poolSize)
		if err == nil {
			tb.Cleanup(b.stop)
			return &Bouncer{b: b}
		}
		lastErr = err
	}
	tb.Fatalf("pgtest: start pgbouncer: %v", lastErr)
	return nil
}

// DSN answers the connection string of dsn's database through the pooler.
func (b *Bouncer) DSN(tb testing.TB, dsn string) string {
	tb.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatalf("pgtest: pgbouncer: parse %q: %v", dsn, err)
	}
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable", b.b.port, cfg.User, cfg.Database)
}

type pgbouncer struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func pgbouncerBinary() (string, error) {
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	if isExec("/usr/sbin/pgbouncer") {
		return "/usr/sbin/pgbouncer", nil
	}
	return "", errors.New("no pgbouncer binary on PATH or in /usr/sbin")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pgbouncerConfig is the pooler's configuration: every database of the
// server (the "*" fallback), transaction pooling, no reset query (transaction
// mode runs none), and a short server_check so that a test's fresh pool
// does not wait.
func pgbouncerConfig(dir string, port int, server *pgx.ConnConfig, poolSize int) string {
	target := fmt.Sprintf("host=%s port=%d user=%s", server.Host, server.Port, server.User)
	if server.Password != "" {
		target += " password=" + server.Password
	}
	return fmt.Sprintf(`[databases]
* = %s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 2000
max_db_connections = 0
server_reset_query =
server_check_delay = 1
ignore_startup_parameters = extra_float_digits
logfile = %s
pidfile = %s
log_connections = 0
log_disconnections = 0
`, target, port, filepath.Join(dir, "userlist.txt"), poolSize,
		filepath.Join(dir, "pgbouncer.log"), filepath.Join(dir, "pgbouncer.pid"))
}

func startPgBouncer(bin string, server *pgx.ConnConfig, poolSize int) (*pgbouncer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(clusterParent(), "roster-pgbouncer-")
	if err != nil {
		return nil, err
	}
	b := &pgbouncer{dir: dir, port: port, done: make(chan struct{})}
	files := map[string]string{
		"pgbouncer.ini": pgbouncerConfig(dir, port, server, poolSize),
		"userlist.txt":  fmt.Sprintf("%q %q\n", server.User, ""),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			b.remove()
			return nil, err
		}
	}
	b.cmd = exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	var out bytes.Buffer
	b.cmd.Stdout, b.cmd.Stderr = &out, &out
	b.cmd.Dir = dir
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root: run it as postgres, as the
		// throwaway cluster runs.
		u, err := user.Lookup("postgres")
		if err != nil {
			b.remove()
			return nil, fmt.Errorf("running as root and there is no postgres user to run pgbouncer as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			b.remove()
			return nil, err
		}
		b.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if err := b.cmd.Start(); err != nil {
		b.remove()
		return nil, err
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()

	// Ready once a client gets an answer from the server through it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=%s dbname=%s sslmode=disable connect_timeout=2", port, server.User, server.Database)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := pgx.Connect(ctx, conn)
		if err == nil {
			_, err = c.Exec(ctx, "select 1")
			c.Close(ctx)
			if err == nil {
				return b, nil
			}
		}
		select {
		case <-b.done:
			logText, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			b.remove()
			return nil, fmt.Errorf("pgbouncer exited: %s %s", strings.TrimSpace(out.String()), logText)
		case <-ctx.Done():
			b.stop()
			return nil, fmt.Errorf("pgbouncer did not answer within 30 s: %w", err)
		case <-tick.C:
		}
	}
}

// stop ends the pooler (SIGINT: PgBouncer's immediate shutdown) and removes
// its files.
func (b *pgbouncer) stop() {
	if b.cmd.Process != nil {
		_ = b.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			_ = b.cmd.Process.Kill()
			<-b.done
		}
	}
	b.remove()
}

func (b *pgbouncer) remove() { _ = os.RemoveAll(b.dir) }
