// Package httpjson writes the JSON answers of Roster's non-SCIM endpoints
// (admin API, sign-in and session API, health): one place for their headers.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// Write answers v as JSON with status; answers are never cached and never
// sniffed as another type.
func Write(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
