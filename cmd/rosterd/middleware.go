package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"

	"github.com/roster-dev/roster/internal/metrics"
	"github.com/roster-dev/roster/internal/requestid"
)

const (
	requestIDHeader = "X-Request-Id"
	maxRequestIDLen = 64
)

// observe wraps next with what every request gets:
//   - a request id: the caller's X-Request-Id when it is short and made of
//     safe characters, else a new one; echoed in the response header;
//   - the id in the request context (internal/requestid), for audit events
//     and error bodies;
//   - a request logger carrying the id, in the request context
//     (zerolog.Ctx); handlers add the tenant and token id to it with
//     UpdateContext and the access line carries them too;
//   - one access line when the request ends: method, path (never the query
//     string, which may carry secrets), status, bytes, duration, request id,
//     remote address, user agent. 5xx at error, else info; successful health
//     probes at debug so that they do not drown the log. Headers and bodies are
//     never logged;
//   - panic recovery: a 500 JSON body (when nothing was written yet) and an
//     error line with the stack;
//   - with m, the request counted in the metrics when it ends: route
//     template, method, status class, latency, and the SCIM operation the
//     scim handler noted (internal/metrics).
func observe(logger zerolog.Logger, now func() time.Time, newID func() string, m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newID()
		}
		w.Header().Set(requestIDHeader, id)
		ctxLogger := logger.With().Str("request_id", id).Logger()
		// Every request has a deadline under the server's write timeout, so
		// that a stuck database answers 503 (store: unavailable) instead of
		// holding the request until the connection is cut.
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		ctx, note := m.Track(ctx)
		// next (the ServeMux) sets the route template on this very request
		// (r.Pattern), which the metrics read when it ends.
		r = r.WithContext(requestid.NewContext(ctxLogger.WithContext(ctx), id))
		// WithContext stores a pointer to its own copy of the logger; log
		// through that one so that fields handlers add reach the access line.
		l := zerolog.Ctx(r.Context())
		rec := &recorder{ResponseWriter: w}

		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler {
				l.Error().Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).Msg("panic serving request")
				if !rec.wroteHeader {
					writeJSON(rec, http.StatusInternalServerError,
						map[string]string{"error": "internal server error", "request_id": id})
				}
			}
			took := now().Sub(start)
			status := rec.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http sends 200
			}
			m.Done(r, note, status, took)
			e := accessLine(l, r, rec.status, rec.bytes, took, v != nil)
			if v == http.ErrAbortHandler {
				e.Bool("aborted", true)
			}
			e.Msg("request")
			if v == http.ErrAbortHandler {
				panic(v) // net/http aborts the response quietly
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// accessLine starts the access line of a request; failed says it panicked
// (after its status was sent, or the connection was aborted).
func accessLine(l *zerolog.Logger, r *http.Request, status, bytes int, d time.Duration, failed bool) *zerolog.Event {
	if status == 0 {
		status = http.StatusOK // nothing written: net/http sends 200
	}
	var e *zerolog.Event
	switch {
	case status >= 500 || failed:
		e = l.Error()
	case status < 300 && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz"):
		e = l.Debug()
	default:
		e = l.Info()
	}
	return e.
		Str("method", r.Method).
		Str("path", r.URL.Path).
		Int("status", status).
		Int("bytes", bytes).
		Float64("duration_ms", float64(d.Microseconds())/1000).
		Str("remote", r.RemoteAddr).
		Str("user_agent", r.UserAgent())
}

// setCause records why a request failed on its access line.
func setCause(r *http.Request, err error) {
	zerolog.Ctx(r.Context()).UpdateContext(func(c zerolog.Context) zerolog.Context {
		return c.AnErr("cause", err)
	})
}

// validRequestID accepts 1 to 64 characters of [A-Za-z0-9._:-]: enough for
// UUIDs and tracing ids, nothing that can forge a log line or a header.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// recorder notes the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader && code >= 200 { // 1xx informational responses are not the status
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += n
	return n, err
}

// Flush lets streaming handlers flush through the recorder.
func (r *recorder) Flush() {
	if !r.wroteHeader {
		r.status, r.wroteHeader = http.StatusOK, true
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
