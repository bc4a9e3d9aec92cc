package session

import (
	"html/template"
	"net/http"

	"github.com/roster-dev/roster/auth"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Roster</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}h1{font-size:1.4rem}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
</body></html>
`))

// writePage answers with a small HTML page: the refusal page of sign-in.
func writePage(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, map[string]string{"Title": title, "Text": text})
}

func authEqual(token string, hash []byte) bool { return auth.Equal(auth.Hash(token), hash) }
