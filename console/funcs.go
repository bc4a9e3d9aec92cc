package console

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxUpload bounds a CSV upload (the admin API's import has its own cap).
const maxUpload = 32 << 20

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"asset": assetURL,
	"money": money,
	"when":  when,
	"ago":   ago,
	"date":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"join":  strings.Join,
	"query": func(kv ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return template.URL(v.Encode())
	},
	"pathEscape": url.PathEscape,
	"pct": func(part, whole int) int {
		if whole <= 0 {
			return 0
		}
		return min(100, part*100/whole)
	},
	"add": func(a, b int) int { return a + b },
	"active": func(current, prefix string) bool {
		return current == prefix || (strings.HasSuffix(prefix, "/") == false && strings.HasPrefix(current, prefix+"/"))
	},
}

// money formats cents as dollars: 123456 → "$1,234.56".
func money(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	whole := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, ch := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	s := fmt.Sprintf("$%s.%02d", b.String(), cents%100)
	if neg {
		return "−" + s
	}
	return s
}

// when is a time as an admin reads it, in UTC (the console does not know
// the person's zone; the tooltip has the exact instant).
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "—"
		}
		return v.UTC().Format("2 Jan 2006 15:04 UTC")
	case *time.Time:
		if v == nil || v.IsZero() {
			return "never"
		}
		return v.UTC().Format("2 Jan 2006 15:04 UTC")
	}
	return ""
}

// ago is a rough "3 days ago" of a time before now.
func ago(t any, now time.Time) string {
	var v time.Time
	switch x := t.(type) {
	case time.Time:
		v = x
	case *time.Time:
		if x == nil {
			return "never"
		}
		v = *x
	}
	if v.IsZero() {
		return "never"
	}
	d := now.Sub(v)
	switch {
	case d < 0:
		return "in " + span(-d)
	case d < time.Minute:
		return "just now"
	}
	return span(d) + " ago"
}

func span(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour")
	default:
		return plural(int(d/(24*time.Hour)), "day")
	}
}
