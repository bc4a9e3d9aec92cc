package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roster-dev/roster/internal/requestid"
	"github.com/roster-dev/roster/scimauth"
	"github.com/roster-dev/roster/store"
	"github.com/roster-dev/roster/store/memory"
)

// failingPing is a real store whose Ping fails, as PostgreSQL's does when the
// database is unreachable.
type failingPing struct {
	store.Store
	err error
}

func (f failingPing) Ping(context.Context) error { return f.err }

// testHandler builds newHandler over a memory store with a fixed clock and
// request ids, logging JSON into the returned buffer at debug.
func testHandler(t *testing.T, st store.Store, routes func(*http.ServeMux)) (http.Handler, *bytes.Buffer) {
	t.Helper()
	if st == nil {
		st = memory.New(memory.Options{})
	}
	var logs bytes.Buffer
	clock := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	guard := scimauth.New(scimauth.Config{Store: st})
	t.Cleanup(guard.Close)
	return newHandler(handlerDeps{
		Store:  st,
		Logger: zerolog.New(&logs).Level(zerolog.DebugLevel),
		Now:    func() time.Time { clock = clock.Add(1500 * time.Microsecond); return clock },
		NewID:  func() string { return "generated-id" },
		Routes: routes,
		Guard:  guard,
	}), &logs
}

func logLines(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

func serveOne(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestReadyz(t *testing.T) {
	h, _ := testHandler(t, nil, nil)
	w := serveOne(h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.JSONEq(t, `{"status":"ok"}`, w.Body.String())
}

func TestReadyz_unavailableWhenPingFails(t *testing.T) {
	st := failingPing{Store: memory.New(memory.Options{}), err: errors.New("dial tcp 10.0.0.5:5432: connection refused")}
	h, logs := testHandler(t, st, nil)

	w := serveOne(h, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.JSONEq(t, `{"status":"unavailable"}`, w.Body.String())
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	assert.NotContains(t, w.Body.String(), "10.0.0.5", "the cause stays in the log")

	lines := logLines(t, logs)
	require.Len(t, lines, 1)
	assert.Equal(t, "error", lines[0]["level"])
	assert.Equal(t, "dial tcp 10.0.0.5:5432: connection refused", lines[0]["cause"])

	// Liveness does not depend on the store.
	w = serveOne(h, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestHealth_methods(t *testing.T) {
	h, _ := testHandler(t, nil, nil)
	assert.Equal(t, http.StatusOK, serveOne(h, httptest.NewRequest(http.MethodHead, "/healthz", nil)).Code)
	assert.Equal(t, http.StatusMethodNotAllowed, serveOne(h, httptest.NewRequest(http.MethodPost, "/healthz", nil)).Code)
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"uuid honoured", "0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"},
		{"trace id honoured", "Root:1-5759e988.bd862e3f_1", "Root:1-5759e988.bd862e3f_1"},
		{"64 chars honoured", strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{"missing", "", "generated-id"},
		{"65 chars", strings.Repeat("a", 65), "generated-id"},
		{"space", "a b", "generated-id"},
		{"quote", `a"b`, "generated-id"},
		{"slash", "a/b", "generated-id"},
		{"non-ASCII", "ïd", "generated-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inContext string
			h, logs := testHandler(t, nil, func(mux *http.ServeMux) {
				mux.HandleFunc("GET /test/id", func(_ http.ResponseWriter, r *http.Request) {
					inContext = requestid.FromContext(r.Context())
				})
			})
			r := httptest.NewRequest(http.MethodGet, "/test/id", nil)
			if tt.in != "" {
				r.Header.Set("X-Request-Id", tt.in)
			}
			w := serveOne(h, r)
			assert.Equal(t, tt.want, w.Header().Get("X-Request-Id"))
			assert.Equal(t, tt.want, inContext, "handlers read the id with requestid.FromContext")
			lines := logLines(t, logs)
			require.Len(t, lines, 1)
			assert.Equal(t, tt.want, lines[0]["request_id"])
		})
	}
}

func TestAccessLog(t *testing.T) {
	routes := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /test/status/{code}", func(w http.ResponseWriter, r *http.Request) {
			zerolog.Ctx(r.Context()).UpdateContext(func(c zerolog.Context) zerolog.Context {
				return c.Str("tenant", "acme") // what transports add
			})
			switch r.PathValue("code") {
			case "201":
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write([]byte("created"))
			case "404":
				http.NotFound(w, r)
			case "502":
				w.WriteHeader(http.StatusBadGateway)
			}
		})
	}
	tests := []struct {
		path   string
		status int
		level  string
		bytes  float64
	}{
		{"/test/status/201", 201, "info", 7},
		{"/test/status/404", 404, "info", 19},
		{"/test/status/502", 502, "error", 0},
		{"/healthz", 200, "debug", 16},
		{"/readyz", 200, "debug", 16},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			h, logs := testHandler(t, nil, routes)
			r := httptest.NewRequest(http.MethodGet, tt.path+"?access_token=s3cr3t", nil)
			r.Header.Set("Authorization", "Bearer rst_0001020304050607_secretsecret")
			r.Header.Set("User-Agent", "Okta SCIM Client 1.0.0")
			r.RemoteAddr = "192.0.2.7:51234"
			w := serveOne(h, r)
			require.Equal(t, tt.status, w.Code)

			raw := logs.String()
			assert.NotContains(t, raw, "s3cr3t", "no query string")
			assert.NotContains(t, raw, "secretsecret", "no Authorization header")
			lines := logLines(t, logs)
			require.Len(t, lines, 1)
			l := lines[0]
			assert.Equal(t, tt.level, l["level"])
			assert.Equal(t, "request", l["message"])
			assert.Equal(t, "GET", l["method"])
			assert.Equal(t, tt.path, l["path"])
			assert.Equal(t, float64(tt.status), l["status"])
			assert.Equal(t, tt.bytes, l["bytes"])
			assert.Equal(t, 1.5, l["duration_ms"])
			assert.Equal(t, "generated-id", l["request_id"])
			assert.Equal(t, "192.0.2.7:51234", l["remote"])
			assert.Equal(t, "Okta SCIM Client 1.0.0", l["user_agent"])
			if strings.HasPrefix(tt.path, "/test/") {
				assert.Equal(t, "acme", l["tenant"], "fields handlers add reach the access line")
			}
		})
	}
}

func TestRecover(t *testing.T) {
	routes := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /test/panic", func(http.ResponseWriter, *http.Request) { panic("nil map write") })
		mux.HandleFunc("GET /test/panic-late", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("partial"))
			panic("late")
		})
	}
	h, logs := testHandler(t, nil, routes)

	w := serveOne(h, httptest.NewRequest(http.MethodGet, "/test/panic", nil))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"error":"internal server error","request_id":"generated-id"}`, w.Body.String())
	lines := logLines(t, logs)
	require.Len(t, lines, 2)
	assert.Equal(t, "error", lines[0]["level"])
	assert.Equal(t, "panic serving request", lines[0]["message"])
	assert.Equal(t, "nil map write", lines[0]["panic"])
	assert.Contains(t, lines[0]["stack"], "runtime/debug.Stack")
	assert.Equal(t, "error", lines[1]["level"])
	assert.Equal(t, float64(500), lines[1]["status"])

	// A panic after the answer started cannot change the status; it is still
	// logged at error.
	logs.Reset()
	w = serveOne(h, httptest.NewRequest(http.MethodGet, "/test/panic-late", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "partial", w.Body.String())
	lines = logLines(t, logs)
	require.Len(t, lines, 2)
	assert.Equal(t, "error", lines[1]["level"])
	assert.Equal(t, float64(200), lines[1]["status"])
}

func TestRecover_abortHandlerPropagates(t *testing.T) {
	routes := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /test/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	}
	h, logs := testHandler(t, nil, routes)
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		serveOne(h, httptest.NewRequest(http.MethodGet, "/test/abort", nil))
	})
	lines := logLines(t, logs)
	require.Len(t, lines, 1)
	assert.Equal(t, true, lines[0]["aborted"])
}

func TestNewServer_limits(t *testing.T) {
	srv := newServer(http.NotFoundHandler(), zerolog.Nop())
	assert.Equal(t, 5*time.Second, srv.ReadHeaderTimeout)
	assert.Equal(t, 30*time.Second, srv.ReadTimeout)
	assert.Equal(t, 45*time.Second, srv.WriteTimeout)
	assert.Equal(t, 120*time.Second, srv.IdleTimeout)
	assert.Equal(t, 64<<10, srv.MaxHeaderBytes)
	assert.NotNil(t, srv.ErrorLog)
}

// TestObserve_requestDeadline proves every request's context has a deadline
// under the server's write timeout, so a stuck store answers before the
// connection is cut.
func TestObserve_requestDeadline(t *testing.T) {
	var left time.Duration
	routes := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /test/deadline", func(w http.ResponseWriter, r *http.Request) {
			d, ok := r.Context().Deadline()
			require.True(t, ok, "the request context has a deadline")
			left = time.Until(d)
		})
	}
	h, _ := testHandler(t, nil, routes)
	serveOne(h, httptest.NewRequest(http.MethodGet, "/test/deadline", nil))
	assert.Greater(t, left, 30*time.Second)
	assert.Less(t, left, newServer(h, zerolog.Nop()).WriteTimeout)
}

// TestOpenAPI_servedAndPrinted: the assembled server answers the admin
// API's description without a credential, and rosterd openapi prints the
// same bytes without a server.
func TestOpenAPI_servedAndPrinted(t *testing.T) {
	h, _ := testHandler(t, nil, nil)
	w := serveOne(h, httptest.NewRequest(http.MethodGet, "/admin/v1/openapi.json", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &doc))
	assert.Equal(t, "3.1.0", doc["openapi"])

	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"openapi"}, envFrom(nil), &out))
	assert.Equal(t, w.Body.String(), out.String())
	assert.ErrorContains(t, run(context.Background(), []string{"openapi", "x"}, envFrom(nil), &out), "unexpected argument")

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"help"}, envFrom(nil), &out))
	assert.Contains(t, out.String(), "GET /admin/v1/openapi.json")
}
