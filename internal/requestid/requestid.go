// Package requestid carries the id of the HTTP request being served, so that
// audit events and error bodies can name it.
package requestid

import "context"

type key struct{}

// NewContext returns ctx carrying the request id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the request id of ctx, or "".
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
