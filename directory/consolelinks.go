package directory

// Console links: a single-use link that signs one user into the console
// (docs/contract.md "Console links"), minted by the operator or a tenant
// admin and redeemed once, within its lifetime, by a browser.

import (
	"context"
	"errors"
	"time"

	"github.com/roster-dev/roster/store"
)

// ConsoleLinkLifetime is how long a console link may be redeemed.
const ConsoleLinkLifetime = 5 * time.Minute

// Why a console link is refused. Nothing is recorded for any of them.
var (
	ErrLinkUnknown = errors.New("directory: no such console link for this tenant")
	ErrLinkUsed    = errors.New("directory: console link already used")
	ErrLinkExpired = errors.New("directory: console link expired")
	// ErrLinkRoleChanged: the user's role changed between the caller's
	// check of it and the link's creation.
	ErrLinkRoleChanged = errors.New("directory: the user's role changed meanwhile")
)

// CreateConsoleLink stores a console link (the SHA-256 of its code) for a
// live user who may sign in now (*store.SignInRefusedError otherwise),
// valid ConsoleLinkLifetime from the store's clock, and writes a
// console_link.created audit event naming the user (never the code).
// role is the role the caller checked it may give: a user whose role is
// no longer that is ErrLinkRoleChanged. store.ErrNotFound for an unknown
// or deleted user. It answers the user and the link as stored.
func (d *Directory) CreateConsoleLink(ctx context.Context, tenantID, userID, role string, hash []byte, by store.Actor) (store.User, store.ConsoleLink, error) {
	var user store.User
	var link store.ConsoleLink
	if len(hash) == 0 {
		return store.User{}, store.ConsoleLink{}, &store.InvalidError{Field: "code", Reason: "needs a hash"}
	}
	err := d.st.Change(ctx, tenantID, store.Lock{Users: []string{userID}}, func(v *store.View) (*store.Plan, error) {
		u, ok := v.Users[userID]
		if !ok {
			return nil, store.ErrNotFound
		}
		if err := store.CanSignIn(u, v.Now); err != nil {
			return nil, err
		}
		if u.Role != role {
			return nil, ErrLinkRoleChanged
		}
		user = u
		link = store.ConsoleLink{TenantID: tenantID, Hash: hash, UserID: userID, CreatedBy: by.Kind + ":" + by.ID,
			CreatedAt: v.Now, ExpiresAt: store.Timestamp(v.Now.Add(ConsoleLinkLifetime))}
		return &store.Plan{By: by, NewLink: &link, Audit: []store.AuditEvent{{Action: "console_link.created",
			TargetType: "user", TargetID: userID,
			Detail: "console link for " + u.UserName + " (role " + u.Role + "), valid until " + link.ExpiresAt.UTC().Format(time.RFC3339)}}}, nil
	})
	if err != nil {
		return store.User{}, store.ConsoleLink{}, err
	}
	return user, link, nil
}

// EnterConsole redeems a console link (by the SHA-256 of its code) and
// starts a session for its user, in one change: the link is marked used,
// sess (ID, Hash, ExpiresAt from the caller; the expiry is cut to the
// user's access expiry; ConsoleLink is set) is stored, the user's LastActiveAt becomes the
// store's now and a user.signed_in audit event, with the user as actor,
// says "console link". A link the tenant does not have is ErrLinkUnknown,
// one redeemed already ErrLinkUsed, one past its expiry ErrLinkExpired; a
// user who may not sign in is a *store.SignInRefusedError. On any of these
// nothing is recorded. requestID goes into the actor of the event.
func (d *Directory) EnterConsole(ctx context.Context, tenantID string, hash []byte, sess store.Session, requestID string) (store.User, store.Session, error) {
	var user store.User
	if len(hash) == 0 {
		return store.User{}, store.Session{}, ErrLinkUnknown
	}
	err := d.st.Change(ctx, tenantID, store.Lock{Link: hash}, func(v *store.View) (*store.Plan, error) {
		l := v.Link
		switch {
		case l == nil:
			return nil, ErrLinkUnknown
		case l.UsedAt != nil:
			return nil, ErrLinkUsed
		case !l.ExpiresAt.After(v.Now):
			return nil, ErrLinkExpired
		}
		u, ok := v.Users[l.UserID]
		switch {
		case !ok && v.Deleted[l.UserID]:
			return nil, &store.SignInRefusedError{Reason: store.RefusedDeleted}
		case !ok:
			return nil, &store.SignInRefusedError{Reason: store.RefusedUnknown}
		}
		if err := store.CanSignIn(u, v.Now); err != nil {
			return nil, err
		}
		if u.AccessExpiresAt != nil && u.AccessExpiresAt.Before(sess.ExpiresAt) {
			sess.ExpiresAt = *u.AccessExpiresAt
		}
		if sess.ID == "" || len(sess.Hash) == 0 || !store.Timestamp(sess.ExpiresAt).After(v.Now) {
			return nil, &store.InvalidError{Field: "session", Reason: "needs an id, a hash and a future expiry"}
		}
		sess = sess.Clone()
		sess.ConsoleLink = true
		sess.TenantID, sess.UserID, sess.CreatedAt, sess.ExpiresAt = tenantID, u.ID, v.Now, store.Timestamp(sess.ExpiresAt)
		now := v.Now
		u.LastActiveAt = &now
		user = u
		by := store.Actor{Kind: "user", ID: u.ID, Name: u.UserName, RequestID: requestID}
		return &store.Plan{By: by, Session: &sess, LastActive: []string{u.ID}, UseLink: true,
			Audit: []store.AuditEvent{{Action: "user.signed_in", TargetType: "user", TargetID: u.ID,
				Detail: "console link; session " + sess.ID}}}, nil
	})
	if err != nil {
		return store.User{}, store.Session{}, err
	}
	return user, sess, nil
}
