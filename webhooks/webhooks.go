// Package webhooks delivers outbound events to tenants' endpoints
// (docs/events.md): signed as the Standard Webhooks specification says, at
// least once, in order per subject, with exponential backoff and jitter for
// up to store.DeliveryWindow, from every rosterd at once (the store leases
// each delivery to one of them), and never to a private address unless the
// operator allowed it.
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret, as Standard Webhooks libraries
// expect it.
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret: whsec_ and 32 bytes of random
// (crypto/rand.Reader in production) in standard base64.
func NewSecret(random io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// Sign is the webhook-signature header of a message: "v1," and the base64
// HMAC-SHA256, keyed with the secret's decoded bytes, of
// "<id>.<timestamp>.<body>".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhooks: secret is not base64: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// URLError says why an endpoint URL is refused.
type URLError struct{ Reason string }

func (e *URLError) Error() string { return e.Reason }

// CheckURL refuses an endpoint URL that can never be delivered to: not
// absolute, not https (http too when private destinations are allowed),
// with credentials or a fragment, or naming a loopback, private or
// link-local address literally. A name that resolves to such an address is
// refused at delivery time, after DNS (Guard).
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return &URLError{"url must be an absolute https URL, like https://example.com/hooks/roster"}
	}
	if len(raw) > 2048 {
		return &URLError{"url must be at most 2048 characters"}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return &URLError{"url must use https (http is allowed only when ROSTER_WEBHOOK_ALLOW_PRIVATE=true)"}
	}
	if u.User != nil {
		return &URLError{"url must not carry a user name or password"}
	}
	if u.Fragment != "" {
		return &URLError{"url must not have a fragment"}
	}
	if ip := net.ParseIP(strings.Trim(u.Hostname(), "[]")); ip != nil && !allowPrivate {
		if err := checkIP(ip); err != nil {
			return &URLError{"url " + err.Error() + " (set ROSTER_WEBHOOK_ALLOW_PRIVATE=true for on-premises receivers)"}
		}
	}
	if u.Hostname() == "localhost" && !allowPrivate {
		return &URLError{"url names localhost (set ROSTER_WEBHOOK_ALLOW_PRIVATE=true for on-premises receivers)"}
	}
	return nil
}

// errBlocked is a delivery refused by the SSRF guard.
var errBlocked = errors.New("destination address not allowed")

// checkIP refuses what a webhook must never reach unless allowed: loopback,
// private (RFC 1918, RFC 4193), link-local (cloud metadata services live
// there), unspecified, multicast, carrier-grade NAT, and IPv4 addresses
// hidden in IPv6 forms.
func checkIP(ip net.IP) error {
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	switch {
	case ip.IsLoopback():
		return fmt.Errorf("resolves to a loopback address (%s)", ip)
	case ip.IsPrivate():
		return fmt.Errorf("resolves to a private address (%s)", ip)
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("resolves to a link-local address (%s)", ip)
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("resolves to a non-unicast address (%s)", ip)
	case len(ip) == net.IPv4len && ip[0] == 100 && ip[1]&0xc0 == 64: // 100.64.0.0/10
		return fmt.Errorf("resolves to a carrier-grade NAT address (%s)", ip)
	case len(ip) == net.IPv4len && ip[0] == 0:
		return fmt.Errorf("resolves to a reserved address (%s)", ip)
	case len(ip) == net.IPv6len && (ip[0] == 0x20 && ip[1] == 0x02 || // 6to4 embeds an IPv4 address
		ip[0] == 0 && ip[1] == 0x64 && ip[2] == 0xff && ip[3] == 0x9b): // NAT64
		return fmt.Errorf("resolves to an address that embeds an IPv4 address (%s)", ip)
	}
	return nil
}
