package directory

// Sign-in bookkeeping and access expiry: the use cases of a user's own
// activity and of the sweep that ends an external user's access.

import (
	"context"
	"errors"
	"time"

	"github.com/roster-dev/roster/store"
)

// SignIn spends a SAML assertion and starts a session for the user, in one
// change. An assertion (tenant, issuer, id) already spent and not yet
// expired is store.ErrReplay; a user who is not live, active and unexpired
// at the store's clock is a *store.SignInRefusedError (its Reason tells an
// unknown user from a deleted one); a session without an id, a hash or a
// future expiry is a *store.InvalidError, and one whose id is taken a
// *store.ConflictError. On any of these nothing is recorded, the spend
// included. Otherwise the user's LastActiveAt becomes the store's now
// (Version does not move: activity is not a provisioning change), sess (ID,
// Hash, ExpiresAt from the caller) is stored, and a user.signed_in audit
// event is written. It answers the user and the session as stored.
func (d *Directory) SignIn(ctx context.Context, tenantID, userID string, a store.Assertion, sess store.Session, by store.Actor) (store.User, store.Session, error) {
	var user store.User
	lock := store.Lock{Users: []string{userID}, Spend: &a}
	err := d.st.Change(ctx, tenantID, lock, func(v *store.View) (*store.Plan, error) {
		if v.Replayed {
			return nil, store.ErrReplay
		}
		u, ok := v.Users[userID]
		switch {
		case !ok && v.Deleted[userID]:
			return nil, &store.SignInRefusedError{Reason: store.RefusedDeleted}
		case !ok:
			return nil, &store.SignInRefusedError{Reason: store.RefusedUnknown}
		}
		if err := store.CanSignIn(u, v.Now); err != nil {
			return nil, err
		}
		// The expiry as stored (store.Timestamp) must be after now: a
		// session is not stored ended.
		if sess.ID == "" || len(sess.Hash) == 0 || !store.Timestamp(sess.ExpiresAt).After(v.Now) {
			return nil, &store.InvalidError{Field: "session", Reason: "needs an id, a hash and a future expiry"}
		}
		sess = sess.Clone()
		sess.TenantID, sess.UserID, sess.CreatedAt, sess.ExpiresAt = tenantID, userID, v.Now, store.Timestamp(sess.ExpiresAt)
		now := v.Now
		u.LastActiveAt = &now
		user = u
		return &store.Plan{By: by, Session: &sess, LastActive: []string{userID},
			Audit: []store.AuditEvent{{Action: "user.signed_in", TargetType: "user", TargetID: userID,
				Detail: "SAML sign-in; session " + sess.ID}}}, nil
	})
	if err != nil {
		return store.User{}, store.Session{}, err
	}
	return user, sess, nil
}

// errNotDue aborts an expiry whose user is no longer due.
var errNotDue = errors.New("directory: user no longer due to expire")

// Expire deactivates a user whose access has expired at now, if, under the
// user's row lock, they are still active and expired: the seat is released
// with ledger reason "expired" and their sessions end, in the user write's
// transaction. It answers false (and changes nothing) when the user is no
// longer due — reactivated meanwhile, given a later expiry, or deactivated
// by another sweep; store.ErrNotFound when the user (or tenant) is gone.
// Of any number of concurrent expiries of one user, one deactivates them.
func (d *Directory) Expire(ctx context.Context, ref store.UserRef, now time.Time, by store.Actor) (bool, error) {
	_, err := d.st.UpdateUser(ctx, ref.TenantID, ref.UserID, by, func(u *store.User) error {
		if !u.Active || !store.Expired(u.AccessExpiresAt, now) {
			return errNotDue
		}
		u.Active = false
		return nil
	})
	if errors.Is(err, errNotDue) {
		return false, nil
	}
	return err == nil, err
}
