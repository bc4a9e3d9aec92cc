package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

var folder = cases.Fold()

// FoldKey is the uniqueness key of a userName or a group displayName:
// NFKC-normalised, trimmed and case-folded, so that "ａｄｍｉｎ", " Admin " and
// "admin" are one name.
func FoldKey(s string) string {
	return folder.String(strings.TrimSpace(norm.NFKC.String(s)))
}

// Expired says whether access that ends at expiresAt has ended at now.
func Expired(expiresAt *time.Time, now time.Time) bool {
	return expiresAt != nil && !expiresAt.After(now)
}

// MaxStringLen caps every string attribute a backend stores.
const MaxStringLen = 2048

// ValidateUser checks what every backend requires of a user before writing it.
func ValidateUser(u *User) error {
	if err := checkManaged(u.Managed); err != nil {
		return err
	}
	if strings.TrimSpace(u.UserName) == "" {
		return &InvalidError{Field: "userName", Reason: "is required"}
	}
	if FoldKey(u.UserName) == "" {
		return &InvalidError{Field: "userName", Reason: "has no visible characters"}
	}
	if IsExternal(u.UserType) && u.AccessExpiresAt == nil { // lifecycle.go
		return &InvalidError{Field: "accessExpiresAt", Reason: "is required when userType is External: set the date and time their access ends"}
	}
	for i := range UserStrings {
		a := &UserStrings[i]
		if err := checkString(a.Path, *a.Field(u)); err != nil {
			return err
		}
	}
	if err := checkString("role", u.Role); err != nil {
		return err
	}
	for _, e := range u.Emails {
		if err := checkString("emails.value", e.Value); err != nil {
			return err
		}
	}
	return nil
}

// ValidateGroup checks what every backend requires of a group before writing it.
func ValidateGroup(g *Group) error {
	if err := checkManaged(g.Managed); err != nil {
		return err
	}
	if FoldKey(g.DisplayName) == "" {
		return &InvalidError{Field: "displayName", Reason: "is required"}
	}
	if err := checkString("displayName", g.DisplayName); err != nil {
		return err
	}
	return checkString("externalId", g.ExternalID)
}

// checkManaged refuses an owner that is neither unset (read as manual) nor
// one of the two known ones.
func checkManaged(m string) error {
	switch m {
	case "", ManagedSCIM, ManagedManual:
	default:
		return &InvalidError{Field: "managed", Reason: "must be scim or manual"}
	}
	return nil
}

func checkString(field, v string) error {
	switch {
	case len(v) > MaxStringLen:
		return &InvalidError{Field: field, Reason: "is longer than 2048 bytes"}
	case !utf8.ValidString(v):
		return &InvalidError{Field: field, Reason: "is not valid UTF-8"}
	case strings.ContainsRune(v, 0):
		return &InvalidError{Field: field, Reason: "contains a NUL character"}
	}
	return nil
}

// Timestamp normalises a time to what every backend can round-trip: UTC,
// microsecond precision (PostgreSQL's timestamptz).
func Timestamp(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// Clone returns a deep copy of the user.
func (u User) Clone() User {
	u.Emails = cloneSlice(u.Emails)
	u.PhoneNumbers = cloneSlice(u.PhoneNumbers)
	u.Addresses = cloneSlice(u.Addresses)
	u.Roles = cloneSlice(u.Roles)
	u.Stores = cloneSlice(u.Stores)
	u.AccessExpiresAt = cloneTime(u.AccessExpiresAt)
	u.LastActiveAt = cloneTime(u.LastActiveAt)
	u.DriftedAt = cloneTime(u.DriftedAt)
	return u
}

// Clone returns a deep copy of the group.
func (g Group) Clone() Group {
	g.Members = cloneSlice(g.Members)
	return g
}

// Clone returns a deep copy of the tenant.
func (t Tenant) Clone() Tenant {
	t.Addons = cloneSlice(t.Addons)
	t.ContractStart = Timestamp(t.ContractStart)
	t.SeatChanges = cloneSlice(t.SeatChanges)
	for i := range t.SeatChanges {
		t.SeatChanges[i].At = Timestamp(t.SeatChanges[i].At)
	}
	t.SeatsAtRenewalFrom = cloneTime(t.SeatsAtRenewalFrom)
	if t.SeatsAtRenewal != nil {
		n := *t.SeatsAtRenewal
		t.SeatsAtRenewal = &n
	}
	return t
}

// Clone returns a deep copy of the token.
func (t Token) Clone() Token {
	t.Hash = cloneSlice(t.Hash)
	t.LastUsedAt = cloneTime(t.LastUsedAt)
	t.RevokedAt = cloneTime(t.RevokedAt)
	return t
}

// Clone returns a deep copy of the role.
func (r Role) Clone() Role {
	r.Permissions = cloneSlice(r.Permissions)
	return r
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := Timestamp(*t)
	return &c
}

// AuditJSON renders a record for an audit event's Before or After, in the
// names the API shows it under (auditView, store/audit.go): SCIM attribute
// names for users and groups, the admin API's snake_case for the rest. Token
// hashes never reach it: tokens are audited by id and name only.
func AuditJSON(v any) string {
	b, err := json.Marshal(auditView(v))
	if err != nil {
		return ""
	}
	return string(b)
}

// MemberOpsDetail summarises membership changes for an audit event.
func MemberOpsDetail(ops []MemberOp) string {
	var parts []string
	for _, op := range ops {
		verb := map[MemberOpKind]string{MembersAdd: "add", MembersRemove: "remove", MembersReplace: "replace"}[op.Kind]
		parts = append(parts, fmt.Sprintf("%s %d member(s)", verb, len(op.UserIDs)))
	}
	return strings.Join(parts, "; ")
}

// CloneMemberOps returns a deep copy of membership operations.
func CloneMemberOps(ops []MemberOp) []MemberOp {
	if len(ops) == 0 {
		return nil
	}
	out := make([]MemberOp, len(ops))
	for i, op := range ops {
		out[i] = MemberOp{Kind: op.Kind, UserIDs: cloneSlice(op.UserIDs)}
	}
	return out
}

// memberOpJSON is a membership operation as an audit row keeps it.
type memberOpJSON struct {
	Op    string   `json:"op"`
	Users []string `json:"users"`
}

var memberOpNames = map[MemberOpKind]string{MembersAdd: "add", MembersRemove: "remove", MembersReplace: "replace"}

// EncodeMemberOps is the JSON of membership operations, for a backend that
// stores an audit event's Members as text.
func EncodeMemberOps(ops []MemberOp) string {
	out := make([]memberOpJSON, len(ops))
	for i, op := range ops {
		out[i] = memberOpJSON{Op: memberOpNames[op.Kind], Users: nonNil(op.UserIDs)}
	}
	b, _ := json.Marshal(out) // strings only
	return string(b)
}

// DecodeMemberOps reads EncodeMemberOps' JSON; "" or anything unreadable
// is no operation.
func DecodeMemberOps(s string) []MemberOp {
	if s == "" {
		return nil
	}
	var in []memberOpJSON
	if json.Unmarshal([]byte(s), &in) != nil {
		return nil
	}
	var out []MemberOp
	for _, op := range in {
		for k, name := range memberOpNames {
			if name == op.Op {
				out = append(out, MemberOp{Kind: k, UserIDs: op.Users})
			}
		}
	}
	return out
}

// GroupUnchanged says whether an UpdateGroup would change nothing: the same
// displayName (exactly, so that a change of case is a rename), externalId
// and owner (Managed, IdP), and no membership operation. Backends then write nothing — no new version,
// no audit event — so that an IdP re-sending the current name (Okta does,
// with every group push) does not invalidate ETags.
func GroupUnchanged(old, updated Group, ops []MemberOp) bool {
	return len(ops) == 0 && old.DisplayName == updated.DisplayName && old.ExternalID == updated.ExternalID &&
		old.Managed == updated.Managed && old.IdP == updated.IdP
}
