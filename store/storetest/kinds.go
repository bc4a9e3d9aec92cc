package storetest

import (
	"slices"
	"testing"

	"github.com/roster-dev/roster/store"
)

// EveryKindAnswered checks a transport's table of answers to store errors
// (read with store.Answer): every kind has a row of its own whose status is
// an error status, no row names a kind the store does not have, and an error
// without a kind finds no row. A kind added to the store without an answer
// in a transport fails that transport's tests instead of becoming a 500.
func EveryKindAnswered[V any](t *testing.T, table map[store.KindCode]V, status func(V) int) {
	t.Helper()
	for _, k := range store.Kinds() {
		v, ok := table[store.KindCode{Kind: k}]
		if !ok {
			t.Errorf("no answer for kind %s", k)
			continue
		}
		if s := status(v); s < 400 || s > 599 {
			t.Errorf("kind %s answers status %d, not an error", k, s)
		}
	}
	for key := range table {
		if !slices.Contains(store.Kinds(), key.Kind) {
			t.Errorf("a row for kind %s, which the store does not have", key.Kind)
		}
	}
	if _, ok := store.Answer(table, store.Fault{}); ok {
		t.Error("an error without a kind is an internal error, not a row of the table")
	}
}
