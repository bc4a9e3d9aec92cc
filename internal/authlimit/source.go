package authlimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Sources says which address a request comes from: the peer address
// (RemoteAddr), unless the peer is a trusted proxy; then the nearest address
// in X-Forwarded-For (else in Forwarded: for=) that is not itself a trusted
// proxy. Forwarding headers are never read by default: any client can write
// them, and honouring them from an untrusted peer would let it choose a
// fresh source (a fresh failure budget) for every request.
//
// An IPv6 source is its /64: a single host usually holds a whole /64, so
// counting its addresses apart would hand it 2^64 budgets.
type Sources struct {
	trusted []netip.Prefix
}

// ParseTrustedProxies reads a comma-separated list of CIDRs or addresses
// (ROSTER_TRUSTED_PROXIES), e.g. "10.0.0.0/8, 192.168.1.7, fd00::/8".
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or a CIDR such as 10.0.0.0/8", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// NewSources trusts the forwarding headers of peers in trusted (nil: none).
func NewSources(trusted []netip.Prefix) Sources {
	return Sources{trusted: append([]netip.Prefix(nil), trusted...)}
}

func (s Sources) isTrusted(a netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of is the source key of r.
func (s Sources) Of(r *http.Request) string {
	peer, ok := parseHostPort(r.RemoteAddr)
	if !ok {
		return "peer:" + r.RemoteAddr // not an IP (a unix socket, a test): one source
	}
	if len(s.trusted) == 0 || !s.isTrusted(peer) {
		return key(peer)
	}
	hops := forwardedFor(r)
	// Right to left: the last hop was added by our proxy; the first address
	// that is not a trusted proxy is the client. If all are trusted, the
	// leftmost is as far as we can see.
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // a garbled hop: trust nothing to its left
		}
		client = a
		if !s.isTrusted(a) {
			break
		}
	}
	return key(client)
}

// forwardedFor lists the hops of X-Forwarded-For, else of Forwarded, in
// order (client first); every header line counts, in order.
func forwardedFor(r *http.Request) []string {
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	if len(hops) > 0 {
		return hops
	}
	// RFC 7239: Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"
	for _, v := range r.Header.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					hops = append(hops, strings.Trim(val, `"`))
				}
			}
		}
	}
	return hops
}

// parseHop reads "1.2.3.4", "1.2.3.4:80", "2001:db8::1" or "[2001:db8::1]:80".
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap(), true
	}
	return parseHostPort(h)
}

func parseHostPort(hp string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(hp)
	if err != nil {
		host = strings.Trim(hp, "[]")
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

func key(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
