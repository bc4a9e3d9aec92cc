package admin_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/roster-dev/roster/admin"
	"github.com/roster-dev/roster/store/memory"
)

// TestAuthenticate_wrongTokensLimitedNeverTheOperator: wrong operator
// tokens are answered 401 up to the source's failure budget (burst 10),
// then 429 with Retry-After; many sources together meet the global budget
// (burst 100). The operator's token, compared first, is admitted
// throughout — from another address and from the guesser's own.
func TestAuthenticate_wrongTokensLimitedNeverTheOperator(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	mux := http.NewServeMux()
	admin.New(admin.Config{Store: memory.New(memory.Options{}), AdminToken: adminToken, Now: func() time.Time { return now }, Rand: rand.Reader}).Register(mux)
	get := func(from, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/admin/v1/tenants", nil)
		r.RemoteAddr = from
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	const guesser, operator = "203.0.113.9:5000", "198.51.100.7:5000"
	statuses := map[int]int{}
	for i := range 40 {
		w := get(guesser, fmt.Sprintf("guess-%d", i))
		statuses[w.Code]++
		if w.Code == http.StatusTooManyRequests {
			assert.Equal(t, "1", w.Header().Get("Retry-After"))
		}
		assert.Equal(t, http.StatusOK, get(guesser, adminToken).Code, "the operator behind the same address")
		assert.Equal(t, http.StatusOK, get(operator, adminToken).Code)
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 10, http.StatusTooManyRequests: 30}, statuses)

	now = now.Add(time.Minute)
	statuses = map[int]int{}
	for i := range 300 {
		statuses[get(fmt.Sprintf("10.0.%d.%d:5000", i/256, i%256), "guess").Code]++
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 100, http.StatusTooManyRequests: 200}, statuses, "the global budget")
	assert.Equal(t, http.StatusOK, get(operator, adminToken).Code)
}
