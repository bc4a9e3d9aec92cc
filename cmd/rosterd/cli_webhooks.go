package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// ---- webhook: a tenant's event endpoints (docs/events.md) ----

func webhookCmd(ctx context.Context, sys *system, args []string) error {
	return subcommand(ctx, sys, "webhook", args, map[string]func(context.Context, *system, []string) error{
		"create": webhookCreate, "list": webhookList, "delete": webhookDelete, "enable": webhookEnable,
		"deliveries": webhookDeliveries, "retry": webhookRetry,
	}, "create", "list", "delete", "enable", "deliveries", "retry")
}

type webhookAnswer struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Secret         string     `json:"secret"`
	Status         string     `json:"status"`
	CreatedAt      time.Time  `json:"created_at"`
	FailingSince   *time.Time `json:"failing_since"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason"`
}

func webhookCreate(ctx context.Context, sys *system, args []string) error {
	var events string
	c, pos, err := parseCLI(sys, "webhook create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&events, "events", "", "comma-separated event types to send (default: all), e.g. user.deactivated,seat.released")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("webhook create", pos, "TENANT", "URL"); err != nil {
		return err
	}
	list := []string{}
	for _, e := range strings.Split(events, ",") {
		if e = strings.TrimSpace(e); e != "" {
			list = append(list, e)
		}
	}
	body, _ := json.Marshal(map[string]any{"url": pos[1], "events": list})
	var h webhookAnswer
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/webhooks", body, "application/json", &h)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, `Webhook %s created for tenant %s: %s gets %s.
Its signing secret — copy it now, Roster shows it only once:

  %s

Deliveries follow the Standard Webhooks specification: verify webhook-signature
with this secret (any Standard Webhooks library does it).
`, h.ID, pos[0], h.URL, eventList(h.Events), h.Secret)
		return err
	})
}

func eventList(e []string) string {
	if len(e) == 0 {
		return "every event"
	}
	return strings.Join(e, ", ")
}

func webhookList(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "webhook list", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("webhook list", pos, "TENANT"); err != nil {
		return err
	}
	var list struct {
		Webhooks []webhookAnswer `json:"webhooks"`
	}
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants/"+escape(pos[0])+"/webhooks", nil, "", &list)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tURL\tEVENTS\tSTATUS\tFAILING SINCE\tCREATED")
		for _, h := range list.Webhooks {
			ev := strings.Join(h.Events, ",")
			if ev == "" {
				ev = "all"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.ID, h.URL, ev, h.Status, timeOrDash(h.FailingSince),
				h.CreatedAt.UTC().Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, h := range list.Webhooks {
			if h.DisabledReason != "" {
				fmt.Fprintf(w, "%s is disabled: %s (rosterd webhook enable %s %s)\n", h.ID, h.DisabledReason, pos[0], h.ID)
			}
		}
		return nil
	})
}

func webhookDelete(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "webhook delete", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("webhook delete", pos, "TENANT", "WEBHOOK_ID"); err != nil {
		return err
	}
	raw, err := c.call(ctx, "DELETE", "/admin/v1/tenants/"+escape(pos[0])+"/webhooks/"+escape(pos[1]), nil, "", nil)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Webhook %s of tenant %s deleted, with its delivery log.\n", pos[1], pos[0])
		return err
	})
}

func webhookEnable(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "webhook enable", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("webhook enable", pos, "TENANT", "WEBHOOK_ID"); err != nil {
		return err
	}
	var h webhookAnswer
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/webhooks/"+escape(pos[1])+"/enable", nil, "", &h)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Webhook %s is %s; its pending deliveries go out again, oldest first.\n", h.ID, h.Status)
		return err
	})
}

type deliveryAnswer struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	ResponseCode  *int       `json:"response_code"`
	DurationMS    *int       `json:"duration_ms"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Error         string     `json:"error"`
}

func webhookDeliveries(ctx context.Context, sys *system, args []string) error {
	var status string
	var limit int
	c, pos, err := parseCLI(sys, "webhook deliveries", args, func(fs *flag.FlagSet) {
		fs.StringVar(&status, "status", "", "only pending, delivered or failed deliveries")
		fs.IntVar(&limit, "limit", 50, "how many, newest first")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("webhook deliveries", pos, "TENANT", "WEBHOOK_ID"); err != nil {
		return err
	}
	q := fmt.Sprintf("?limit=%d", limit)
	if status != "" {
		q += "&status=" + escape(status)
	}
	var page struct {
		Deliveries []deliveryAnswer `json:"deliveries"`
	}
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants/"+escape(pos[0])+"/webhooks/"+escape(pos[1])+"/deliveries"+q, nil, "", &page)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEVENT\tTYPE\tSTATUS\tATTEMPTS\tCODE\tMS\tLAST ATTEMPT\tNEXT\tERROR")
		for _, d := range page.Deliveries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.EventID, d.EventType, d.Status, d.Attempts,
				intOrDash(d.ResponseCode), intOrDash(d.DurationMS), timeOrDash(d.LastAttemptAt), timeOrDash(d.NextAttemptAt), d.Error)
		}
		return tw.Flush()
	})
}

func intOrDash(p *int) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func webhookRetry(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseCLI(sys, "webhook retry", args, nil)
	if err != nil {
		return err
	}
	if err := wantArgs("webhook retry", pos, "TENANT", "WEBHOOK_ID", "DELIVERY_ID"); err != nil {
		return err
	}
	var d deliveryAnswer
	raw, err := c.call(ctx, "POST", "/admin/v1/tenants/"+escape(pos[0])+"/webhooks/"+escape(pos[1])+"/deliveries/"+escape(pos[2])+"/retry", nil, "", &d)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Delivery %s (%s %s) queued again.\n", d.ID, d.EventType, d.EventID)
		return err
	})
}

// ---- events: the pull API ----

func eventsCmd(ctx context.Context, sys *system, args []string) error {
	var after string
	var limit int
	c, pos, err := parseCLI(sys, "events", args, func(fs *flag.FlagSet) {
		fs.StringVar(&after, "after", "", "the next_cursor of an earlier call (default: the oldest events kept)")
		fs.IntVar(&limit, "limit", 100, "how many events")
	})
	if err != nil {
		return err
	}
	if err := wantArgs("events", pos, "TENANT"); err != nil {
		return err
	}
	q := fmt.Sprintf("?limit=%d", limit)
	if after != "" {
		q += "&after=" + escape(after)
	}
	var page struct {
		Events []struct {
			ID         string          `json:"id"`
			Type       string          `json:"type"`
			OccurredAt time.Time       `json:"occurred_at"`
			Actor      json.RawMessage `json:"actor"`
			Data       map[string]any  `json:"data"`
		} `json:"events"`
		Next    string `json:"next_cursor"`
		HasMore bool   `json:"has_more"`
	}
	raw, err := c.call(ctx, "GET", "/admin/v1/tenants/"+escape(pos[0])+"/events"+q, nil, "", &page)
	if err != nil {
		return err
	}
	return c.print(raw, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OCCURRED\tTYPE\tSUBJECT\tEVENT ID")
		for _, e := range page.Events {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.OccurredAt.UTC().Format(time.RFC3339), e.Type, eventSubject(e.Data), e.ID)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		more := ""
		if page.HasMore {
			more = " (more waiting)"
		}
		_, err := fmt.Fprintf(w, "next: rosterd events %s --after %s%s\n", pos[0], page.Next, more)
		return err
	})
}

// eventSubject names what an event is about, for a table.
func eventSubject(data map[string]any) string {
	for _, k := range []string{"user", "team"} {
		if m, ok := data[k].(map[string]any); ok {
			for _, f := range []string{"userName", "name", "id"} {
				if s, ok := m[f].(string); ok && s != "" {
					return s
				}
			}
		}
	}
	if s, ok := data["user_id"].(string); ok {
		return s
	}
	return "-"
}
