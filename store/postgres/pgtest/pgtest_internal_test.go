package pgtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReplaceDB(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:p@db:5432/roster?sslmode=disable", "postgres://u:p@db:5432/t1?sslmode=disable"},
		{"postgres://u@db/roster", "postgres://u@db/t1"},
		{"postgres://u@db", "postgres://u@db/t1"},
		{"host=/tmp/x user=postgres dbname=postgres sslmode=disable", "host=/tmp/x user=postgres dbname=t1 sslmode=disable"},
		{"host=/tmp/x user=postgres", "host=/tmp/x user=postgres dbname=t1"},
	} {
		assert.Equal(t, tc.want, replaceDB(tc.in, "", "t1"), tc.in)
	}
}

// fakeTB records how unavailable ends a test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                       {}
func (f *fakeTB) Skipf(format string, _ ...any) { f.skipped = format }
func (f *fakeTB) Fatalf(format string, _ ...any) {
	f.failed = format
}

// TestUnavailable_neverSilent proves a missing server skips loudly outside
// CI and fails in CI.
func TestUnavailable_neverSilent(t *testing.T) {
	t.Setenv("CI", "")
	tb := &fakeTB{}
	unavailable(tb, errors.New("no binaries"))
	assert.True(t, strings.HasPrefix(tb.skipped, "POSTGRES UNAVAILABLE:"), tb.skipped)
	assert.Empty(t, tb.failed)

	t.Setenv("CI", "true")
	tb = &fakeTB{}
	unavailable(tb, errors.New("no binaries"))
	assert.NotEmpty(t, tb.failed)
	assert.Empty(t, tb.skipped)
}
