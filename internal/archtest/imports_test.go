// Package archtest holds tests about the shape of the module itself: which
// package may import which (docs/architecture.md, "What may import what").
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/roster-dev/roster"

// Transports answer HTTP; they reach persistence only through the store
// interface, never through a backend.
var transports = []string{"scim", "admin", "saml", "session", "scimauth", "console"}

// Domain packages hold rules and persistence contracts; they know nothing of
// HTTP or of who calls them.
var domain = []string{"directory", "store", "licensing"}

var backends = []string{"store/memory", "store/postgres"}

// debt lists arrows that break a rule and are being moved out, each with
// its reason (docs/architecture.md "Where this is going"). It is empty: a
// change that must add an arrow for a while names it here. The test fails
// on any arrow not listed, and on a listed arrow that no longer exists, so
// the list only ever shrinks.
var debt = map[string]string{}

// TestImportRules proves the layering: transports never import a backend;
// directory, store and licensing import no transport and no net/http;
// the store never imports the directory; licensing imports no store; only cmd/ (and tests) wire a backend in;
// only internal/metrics imports Prometheus, and no domain package or backend imports the metrics.
func TestImportRules(t *testing.T) {
	imports := moduleImports(t)
	var broken []string
	for pkg, deps := range imports {
		for _, dep := range deps {
			if why := forbidden(pkg, dep); why != "" {
				broken = append(broken, pkg+" -> "+dep+": "+why)
			}
		}
	}
	sort.Strings(broken)

	seen := map[string]bool{}
	for _, b := range broken {
		arrow, _, _ := strings.Cut(b, ": ")
		if _, ok := debt[arrow]; ok {
			seen[arrow] = true
			continue
		}
		t.Errorf("forbidden import %s", b)
	}
	for arrow, reason := range debt {
		if !seen[arrow] {
			t.Errorf("%q is listed as a known debt (%s) but no longer exists: remove it from the list", arrow, reason)
		}
	}
}

// forbidden says why pkg may not import dep, or "" when it may. Both are
// module-relative for module packages; standard and third-party imports are
// given in full.
func forbidden(pkg, dep string) string {
	under := func(p string, roots []string) bool {
		for _, r := range roots {
			if p == r || strings.HasPrefix(p, r+"/") {
				return true
			}
		}
		return false
	}
	switch {
	case under(pkg, transports) && under(dep, backends):
		return "a transport reaches persistence through store.Store, never a backend"
	case under(pkg, domain) && !under(pkg, backends) && under(dep, transports):
		return "domain packages do not know their transports"
	case under(pkg, domain) && !under(pkg, backends) && dep == "net/http":
		return "domain packages speak in error kinds, not HTTP statuses"
	case under(pkg, []string{"store"}) && pkg != "store/storetest" && under(dep, []string{"directory"}):
		return "the store persists what the directory decides; it never calls up into it"
	case pkg == "licensing" && under(dep, []string{"store"}):
		return "licensing is pure and owns its own types"
	case under(dep, backends) && !strings.HasPrefix(pkg, "cmd/") && !under(pkg, backends):
		return "only cmd/ wires a backend in"
	case strings.HasPrefix(dep, "github.com/prometheus/") && pkg != "internal/metrics":
		return "only internal/metrics imports Prometheus; other packages call its typed hooks"
	case under(pkg, domain) && dep == "internal/metrics":
		return "domain packages and backends report through hooks they are given (postgres.Options.BatchSize, Stats), never the metrics"
	}
	return ""
}

// moduleImports parses every non-test Go file of the module and returns, per
// package directory (module-relative), its imports, with module packages made
// module-relative.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == module {
				p = "."
			} else if strings.HasPrefix(p, module+"/") {
				p = strings.TrimPrefix(p, module+"/")
			}
			if !slices.Contains(out[rel], p) {
				out[rel] = append(out[rel], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s; the walk is broken", len(out), root)
	}
	return out
}

// TestForbidden_table pins the rules themselves, so that a mistake in
// forbidden cannot make TestImportRules pass vacuously.
func TestForbidden_table(t *testing.T) {
	cases := []struct {
		pkg, dep string
		bad      bool
	}{
		{"scim", "store/postgres", true},
		{"admin", "store/memory", true},
		{"console", "store/postgres", true},
		{"scim", "store", false},
		{"store", "net/http", true},
		{"directory", "net/http", true},
		{"directory", "scim", true},
		{"licensing", "store", true},
		{"licensing", "time", false},
		{"lifecycle", "store/postgres", true},
		{"cmd/rosterd", "store/postgres", false},
		{"cmd/rosterload", "store/postgres", false},
		{"store/postgres", "net", false},
		{"store/postgres/pgtest", "store/postgres", false},
		{"store/storetest", "store", false},
		{"store", "directory", true},
		{"store/postgres", "directory", true},
		{"store/memory", "directory", true},
		{"store/storetest", "directory", false},
		{"directory", "store", false},
		{"admin", "directory", false},
		{"internal/metrics", "github.com/prometheus/client_golang/prometheus", false},
		{"scim", "github.com/prometheus/client_golang/prometheus", true},
		{"cmd/rosterd", "github.com/prometheus/client_golang/prometheus/promhttp", true},
		{"scim", "internal/metrics", false},
		{"cmd/rosterd", "internal/metrics", false},
		{"store/postgres", "internal/metrics", true},
		{"directory", "internal/metrics", true},
	}
	for _, c := range cases {
		if got := forbidden(c.pkg, c.dep) != ""; got != c.bad {
			t.Errorf("forbidden(%q, %q) = %v, want %v", c.pkg, c.dep, got, c.bad)
		}
	}
}
