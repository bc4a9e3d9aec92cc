package scim

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOperationOf names each SCIM request by resource and operation as the
// dispatcher serves it — endpoint names in any case, any id — and every
// path or method that serves nothing as other, so that the metrics' labels
// stay a short fixed list.
func TestOperationOf(t *testing.T) {
	for _, tc := range []struct {
		method, rest, resource, op string
	}{
		{"GET", "Users", "Users", "list"},
		{"GET", "users", "Users", "list"},
		{"POST", "Users", "Users", "create"},
		{"POST", "Users/.search", "Users", "search"},
		{"GET", "Users/2819c223", "Users", "get"},
		{"PUT", "Users/2819c223", "Users", "replace"},
		{"PATCH", "USERS/2819c223", "Users", "patch"},
		{"DELETE", "Users/2819c223", "Users", "delete"},
		{"GET", "Groups", "Groups", "list"},
		{"POST", "Groups", "Groups", "create"},
		{"PATCH", "Groups/e9e30dba", "Groups", "patch"},
		{"GET", "Groups/e9e30dba", "Groups", "get"},
		{"POST", ".search", "search", "search"},
		{"POST", "Bulk", "Bulk", "bulk"},
		{"GET", "ServiceProviderConfig", "discovery", "get"},
		{"GET", "Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "discovery", "get"},
		{"GET", "ResourceTypes", "discovery", "get"},
		{"DELETE", "Users", "Users", "other"},
		{"POST", "Users/2819c223", "Users", "other"},
		{"GET", "Users/a/b", "Users", "other"},
		{"GET", "Bulk", "other", "other"},
		{"GET", "Me", "other", "other"},
		{"GET", "anything-else", "other", "other"},
		{"POST", "Schemas", "other", "other"},
	} {
		resource, op := operationOf(tc.method, tc.rest)
		assert.Equal(t, [2]string{tc.resource, tc.op}, [2]string{resource, op}, "%s %s", tc.method, tc.rest)
	}
}
