package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServe_trustedProxies proves that rosterd counts failed operator
// tokens by the client the trusted proxy names (ROSTER_TRUSTED_PROXIES), and
// ignores forwarding headers from any other peer: without the setting, a
// client cannot buy itself a fresh failure budget by writing
// X-Forwarded-For.
func TestServe_trustedProxies(t *testing.T) {
	const admin = "Xk9mP2vR7tL4wQ8nB3cJ6hF1dS5gZ0aY"
	wrong := func(addr, forwardedFor string) int {
		r, err := http.NewRequest("GET", "http://"+addr+"/admin/v1/tenants", nil)
		require.NoError(t, err)
		r.Header.Set("Authorization", "Bearer wrong")
		r.Header.Set("X-Forwarded-For", forwardedFor)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		trusted string
		want    int // the answer to another client's first wrong token
	}{
		{"", http.StatusTooManyRequests},
		{"127.0.0.0/8", http.StatusUnauthorized},
	} {
		t.Run(fmt.Sprintf("trusted=%q", tc.trusted), func(t *testing.T) {
			sys, stdout, _ := testSystem(map[string]string{"ROSTER_ADMIN_TOKEN": admin, "ROSTER_TRUSTED_PROXIES": tc.trusted})
			s := startServe(t, sys, stdout)
			for range 11 {
				wrong(s.addr, "203.0.113.9") // the burst of one source is 10
			}
			assert.Equal(t, http.StatusTooManyRequests, wrong(s.addr, "203.0.113.9"))
			assert.Equal(t, tc.want, wrong(s.addr, "198.51.100.7"), "another forwarded client")
			require.NoError(t, s.stop(t))
		})
	}
}
