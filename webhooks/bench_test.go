package webhooks_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/postgres/pgtest"
	"github.com/roster-dev/roster/webhooks"
)

// BenchmarkDeliverer_throughput measures events delivered per second by one
// deliverer on PostgreSQL to a local receiver that answers 204 at once: the
// backlog of b.N users' creations (user.created and seat.consumed each) is
// made first, then drained. Reported as events/s.
func BenchmarkDeliverer_throughput(b *testing.B) {
	s := pgtest.Store(b, time.Now)
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: "acme", Name: "Acme", Plan: "ultimate", Seats: 1 << 30, Settings: store.DefaultSettings()}, store.ActorAdmin); err != nil {
		b.Fatal(err)
	}
	secret, _ := webhooks.NewSecret(rand.Reader)
	if _, err := s.CreateWebhook(ctx, "acme", store.Webhook{ID: "wh", URL: srv.URL, Secret: secret}, store.ActorAdmin); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if _, err := s.CreateUser(ctx, "acme", store.User{UserName: fmt.Sprintf("u%d@x.com", i), Active: true, Role: store.RoleAgent}, scim); err != nil {
			b.Fatal(err)
		}
	}
	d := webhooks.New(webhooks.Config{Store: s, AllowPrivate: true})
	b.ResetTimer()
	start := time.Now()
	for got.Load() < int64(2*b.N) {
		if _, err := d.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(got.Load())/time.Since(start).Seconds(), "events/s")
}
