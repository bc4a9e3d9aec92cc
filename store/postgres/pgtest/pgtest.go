// Package pgtest gives each test its own fresh, migrated PostgreSQL database
// (boundary's dbtest).
//
// With ROSTER_TEST_DATABASE_URL set, databases are created on that server.
// Otherwise the first New of a test binary starts a throwaway cluster from the
// local PostgreSQL binaries (initdb, pg_ctl; on PATH or under
// /usr/lib/postgresql/*/bin, highest version first), as user postgres when
// running as root, listening only on a unix socket in a temporary directory
// (in memory when /dev/shm has room, see EnvDir), with fsync off. Migrations run once into the template database
// roster_template; each test gets `create database … template roster_template`
// and drops it on cleanup.
//
// A package using New must stop the cluster after its tests:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// PostgreSQL tests never skip silently: without a server they fail when CI is
// set and otherwise skip with a line starting "POSTGRES UNAVAILABLE:".
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/store/postgres"
)

// EnvURL names the variable of an existing server to use; its user must be
// allowed to create databases.
const EnvURL = "ROSTER_TEST_DATABASE_URL"

// TemplateDB is the migrated template every test database is copied from.
const TemplateDB = "roster_template"

// lockKey serialises template preparation against database creation across
// test binaries sharing one server.
const lockKey int64 = 0x726f737465720001

var (
	once    sync.Once
	srv     *server
	srvErr  error
	counter atomic.Int64
)

// server is where test databases are made.
type server struct {
	admin *pgxpool.Pool // connected to the maintenance database
	// dsn returns the connection string of a database of the server.
	dsn func(db string) string

	// A local cluster, when we started one.
	cluster *cluster
}

// Store opens a *postgres.Store on a fresh database of its own (New), with
// now as its clock when not nil, and closes it when tb ends: the PostgreSQL
// side of the tests that run against both backends.
func Store(tb testing.TB, now func() time.Time) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), New(tb), postgres.Options{Now: now})
	if err != nil {
		tb.Fatalf("pgtest: open store: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// New creates a fresh, migrated database for tb and returns its connection
// string. The database is dropped when tb ends.
func New(tb testing.TB) string {
	tb.Helper()
	return newDB(tb, TemplateDB)
}

func newDB(tb testing.TB, template string) string {
	tb.Helper()
	once.Do(func() { srv, srvErr = start() })
	if srvErr != nil {
		unavailable(tb, srvErr)
	}
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), counter.Add(1))
	if err := srv.createDB(ctx, name, template); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := srv.admin.Exec(context.Background(), "drop database if exists "+name+" with (force)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return srv.dsn(name)
}

// NewEmpty creates a fresh database without Roster's schema (for migration
// tests) and returns its connection string; it is dropped when tb ends.
func NewEmpty(tb testing.TB) string {
	tb.Helper()
	return newDB(tb, "template0")
}

// Pool returns a pool on a fresh, migrated database, closed when tb ends.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), New(tb))
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// Run runs the tests, then stops a cluster that New started and removes its
// files. Use it as os.Exit(pgtest.Run(m)), or through Main.
func Run(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Main is TestMain for a package using New: os.Exit(Run(m)).
func Main(m *testing.M) { os.Exit(Run(m)) }

// Stop closes the admin connection and stops a cluster that New started.
func Stop() {
	if srv != nil {
		srv.close()
	}
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") != "" {
		tb.Fatalf("pgtest: PostgreSQL is required in CI: %v", err)
		return
	}
	tb.Skipf("POSTGRES UNAVAILABLE: %v (set %s or install PostgreSQL server binaries)", err, EnvURL)
}

func start() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var s *server
	if url := os.Getenv(EnvURL); url != "" {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		admin, err := pgxpool.New(ctx, url)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		s = &server{admin: admin, dsn: func(db string) string {
			c := cfg.ConnString()
			return replaceDB(c, cfg.Database, db)
		}}
	} else {
		c, err := startCluster(ctx)
		if err != nil {
			return nil, err
		}
		admin, err := pgxpool.New(ctx, c.dsn("postgres"))
		if err != nil {
			c.stop()
			return nil, err
		}
		s = &server{admin: admin, dsn: c.dsn, cluster: c}
	}
	if err := s.prepareTemplate(ctx); err != nil {
		s.close()
		return nil, fmt.Errorf("prepare %s: %w", TemplateDB, err)
	}
	return s, nil
}

// close releases the server: the admin pool, and the cluster if we started one.
func (s *server) close() {
	s.admin.Close()
	if s.cluster != nil {
		s.cluster.stop()
	}
}

// replaceDB points a connection string at another database.
func replaceDB(conn, from, to string) string {
	if strings.Contains(conn, "://") {
		// postgres://user@host:port/db?params
		head, query, _ := strings.Cut(conn, "?")
		i := strings.LastIndex(head, "/")
		if i > strings.Index(head, "://")+2 {
			head = head[:i]
		}
		out := head + "/" + to
		if query != "" {
			out += "?" + query
		}
		return out
	}
	re := regexp.MustCompile(`(^|\s)dbname=\S*`)
	if re.MatchString(conn) {
		return re.ReplaceAllString(conn, "${1}dbname="+to)
	}
	return conn + " dbname=" + to
}

// prepareTemplate creates and migrates roster_template, under an exclusive
// advisory lock (other binaries create databases under the shared one).
func (s *server) prepareTemplate(ctx context.Context) error {
	conn, err := s.admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", lockKey); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "select pg_advisory_unlock($1)", lockKey) //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", TemplateDB).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "create database "+TemplateDB); err != nil {
			return err
		}
	}
	// Migrating an up-to-date template is a no-op.
	return postgres.Migrate(ctx, s.dsn(TemplateDB))
}

func (s *server) createDB(ctx context.Context, name, template string) error {
	conn, err := s.admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "select pg_advisory_lock_shared($1)", lockKey); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "select pg_advisory_unlock_shared($1)", lockKey) //nolint:errcheck
	// Creating from a template fails while another session is connected to
	// it; the template is only connected to while it is migrated, under the
	// exclusive lock, so a retry is only for the instant a migrator's
	// connection takes to close.
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, "create database "+name+" template "+template)
		if err == nil || attempt == 50 || !strings.Contains(err.Error(), "being accessed by other users") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- a throwaway local cluster ----

type cluster struct {
	bin     string // directory of initdb, pg_ctl, postgres
	dir     string // temporary root: data/, the socket, the log
	cred    *syscall.Credential
	stopped atomic.Bool
}

func (c *cluster) dataDir() string { return filepath.Join(c.dir, "data") }

func (c *cluster) dsn(db string) string {
	return fmt.Sprintf("host=%s user=postgres dbname=%s sslmode=disable", c.dir, db)
}

func startCluster(ctx context.Context) (*cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin}

	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as postgres.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}

	if c.dir, err = os.MkdirTemp(clusterParent(), "roster-pg-"); err != nil {
		return nil, err
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, uid, gid); err != nil {
			c.remove()
			return nil, err
		}
	}

	initdb := func(locale string) error {
		return c.run(ctx, "initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres",
			"--encoding=UTF8", "--locale="+locale, "--no-sync")
	}
	if err := initdb("C.UTF-8"); err != nil {
		// Without a C.UTF-8 locale, fall back to C.
		_ = os.RemoveAll(c.dataDir())
		if err2 := initdb("C"); err2 != nil {
			c.remove()
			return nil, fmt.Errorf("initdb: %w (with C.UTF-8: %v)", err2, err)
		}
	}
	opts := fmt.Sprintf("-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c listen_addresses='' -k %s -c max_connections=300",
		c.dir)
	if err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.dataDir(),
		"-l", filepath.Join(c.dir, "postgres.log"), "-o", opts); err != nil {
		logText, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
		c.remove()
		return nil, fmt.Errorf("pg_ctl start: %w\n%s", err, logText)
	}
	return c, nil
}

// EnvDir names the variable that chooses where the throwaway cluster lives.
const EnvDir = "ROSTER_PGTEST_DIR"

// clusterParent is the directory the cluster's temporary directory is made
// in: $ROSTER_PGTEST_DIR when set; else /dev/shm when it is a memory file
// system with room (2 GiB free), because a cluster on disk stalls on
// writeback now and then, which slows tests and makes benchmark figures
// meaningless; else the temporary directory. The unix socket lives there too,
// so the path must stay short (socket paths are limited to ~107 bytes).
func clusterParent() string {
	if dir := os.Getenv(EnvDir); dir != "" {
		return dir
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && uint64(st.Bavail)*uint64(st.Bsize) >= 2<<30 {
		if f, err := os.CreateTemp("/dev/shm", "roster-pg-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	if dir := os.TempDir(); len(dir) <= 60 {
		return dir
	}
	return "/tmp"
}

// run runs one of the cluster's binaries as the server's user.
func (c *cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if cmd.Dir == "" {
		cmd.Dir = os.TempDir()
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	// A C locale for the tools themselves; initdb is told its locale.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

func (c *cluster) stop() {
	if c.stopped.Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = c.run(ctx, "pg_ctl", "stop", "-m", "immediate", "-w", "-D", c.dataDir())
	c.remove()
}

func (c *cluster) remove() {
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// findBinaries returns the directory of the highest PostgreSQL version whose
// initdb and pg_ctl are there: on PATH or under /usr/lib/postgresql/*/bin.
func findBinaries() (string, error) {
	type cand struct {
		dir     string
		version int
	}
	var cands []cand
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		cands = append(cands, cand{dir, binVersion(dir)})
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, dir := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		if err != nil {
			v = binVersion(dir)
		}
		cands = append(cands, cand{dir, v})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].version > cands[j].version })
	for _, c := range cands {
		if isExec(filepath.Join(c.dir, "initdb")) && isExec(filepath.Join(c.dir, "pg_ctl")) && isExec(filepath.Join(c.dir, "postgres")) {
			return c.dir, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or under /usr/lib/postgresql/*/bin")
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

var versionRE = regexp.MustCompile(`(\d+)(?:\.\d+)?`)

// binVersion is the major version `pg_ctl --version` reports, 0 if unknown.
func binVersion(dir string) int {
	out, err := exec.Command(filepath.Join(dir, "pg_ctl"), "--version").Output()
	if err != nil {
		return 0
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}
