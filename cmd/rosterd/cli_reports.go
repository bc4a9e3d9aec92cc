package main

// rosterd seats, seats events, seats usage, report dormant and audit: what
// the admin API reports about a tenant's seats, money and history.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ---- seats ----

// seatsCmd is "seats TENANT" (the report), "seats events TENANT" (the
// ledger) or "seats usage TENANT" (the usage history). A tenant named
// "events" or "usage" has its report as "seats -- events".
func seatsCmd(ctx context.Context, sys *system, args []string) error {
	lead, rest := leadingFlags(args)
	if len(rest) > 0 && rest[0] == "events" {
		return seatEvents(ctx, sys, withFlags(rest[1:], lead))
	}
	if len(rest) > 0 && rest[0] == "usage" {
		return seatUsage(ctx, sys, withFlags(rest[1:], lead))
	}
	return seatReport(ctx, sys, args)
}

// seatAnswer is the part of the seat report the text shows.
type seatAnswer struct {
	AsOf string `json:"as_of"`
	Plan struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		SeatPriceCents int64  `json:"seat_price_cents"`
		BilledAnnually bool   `json:"billed_annually"`
	} `json:"plan"`
	MinimumSeats   int  `json:"minimum_seats"`
	PurchasedSeats int  `json:"purchased_seats"`
	UsableSeats    int  `json:"usable_seats"`
	ConsumedSeats  int  `json:"consumed_seats"`
	AvailableSeats int  `json:"available_seats"`
	OverageSeats   int  `json:"overage_seats"`
	OverageAllowed bool `json:"overage_allowed"`
	BillableSeats  int  `json:"billable_seats"`
	LightSeats     struct {
		Consumed     int   `json:"consumed"`
		PriceCents   int64 `json:"price_cents"`
		MonthlyCents int64 `json:"monthly_cents"`
	} `json:"light_seats"`
	ActiveUsers int `json:"active_users"`
	Addons      []struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		Users          int    `json:"users"`
		UserPriceCents int64  `json:"user_price_cents"`
		IncludedInPlan bool   `json:"included_in_plan"`
		MonthlyCents   int64  `json:"monthly_cents"`
	} `json:"addons"`
	MonthlyCostCents int64 `json:"monthly_cost_cents"`
	Monthly          struct {
		SeatsCents      int64 `json:"seats_cents"`
		LightSeatsCents int64 `json:"light_seats_cents"`
		AddonsCents     int64 `json:"addons_cents"`
	} `json:"monthly"`
	AnnualCommitmentCents int64 `json:"annual_commitment_cents"`
	BillableAfterRenewal  struct {
		At               string `json:"at"`
		PurchasedSeats   int    `json:"purchased_seats"`
		BillableSeats    int    `json:"billable_seats"`
		MonthlyCostCents int64  `json:"monthly_cost_cents"`
	} `json:"billable_after_renewal"`
	Contract struct {
		TermStart        string `json:"term_start"`
		Renewal          string `json:"renewal"`
		DaysToRenewal    int    `json:"days_to_renewal"`
		PendingReduction *struct {
			Seats       int    `json:"seats"`
			EffectiveAt string `json:"effective_at"`
		} `json:"pending_reduction"`
		ProratedAdditionsCents int64 `json:"prorated_additions_cents"`
	} `json:"contract"`
	PossibleDuplicates []struct {
		Email string `json:"email"`
		Users []struct {
			UserName string `json:"user_name"`
		} `json:"users"`
		ExtraMonthlyCents int64 `json:"extra_monthly_cents"`
	} `json:"possible_duplicates"`
	BillingTrigger string `json:"billing_trigger"`
}

func seatReport(ctx context.Context, sys *system, args []string) error {
	c, pos, err := parseArgs(sys, "seats", args, nil, "TENANT")
	if err != nil {
		return err
	}
	var s seatAnswer
	return c.do(ctx, "GET", tenantPath(pos[0], "seats"), nil, &s, func(w io.Writer) error { return writeSeats(w, pos[0], s) })
}

func writeSeats(w io.Writer, tenant string, s seatAnswer) error {
	fmt.Fprintf(w, "Seats of tenant %s, as of %s\n", tenant, s.AsOf)
	overage := "not allowed"
	if s.OverageAllowed {
		overage = "allowed, billed"
	}
	err := writeFields(w,
		[2]string{"plan", fmt.Sprintf("%s (%s), %s per seat per month", s.Plan.Name, s.Plan.ID, money(s.Plan.SeatPriceCents))},
		[2]string{"minimum", strconv.Itoa(s.MinimumSeats)},
		[2]string{"purchased", strconv.Itoa(s.PurchasedSeats)},
		[2]string{"usable", strconv.Itoa(s.UsableSeats)},
		[2]string{"consumed", strconv.Itoa(s.ConsumedSeats)},
		[2]string{"available", strconv.Itoa(s.AvailableSeats)},
		[2]string{"overage", fmt.Sprintf("%d (%s)", s.OverageSeats, overage)},
		[2]string{"billable", strconv.Itoa(s.BillableSeats)},
		[2]string{"light seats", fmt.Sprintf("%d at %s", s.LightSeats.Consumed, money(s.LightSeats.PriceCents))},
		[2]string{"active users", strconv.Itoa(s.ActiveUsers)},
		[2]string{"monthly cost", fmt.Sprintf("%s (seats %s, light seats %s, add-ons %s)", money(s.MonthlyCostCents),
			money(s.Monthly.SeatsCents), money(s.Monthly.LightSeatsCents), money(s.Monthly.AddonsCents))},
		[2]string{"annual commitment", money(s.AnnualCommitmentCents)},
		[2]string{"term", fmt.Sprintf("%s to %s (%d days to the renewal)", orDash(s.Contract.TermStart), orDash(s.Contract.Renewal), s.Contract.DaysToRenewal)},
		[2]string{"after the renewal", fmt.Sprintf("%d purchased, %d billable, %s per month", s.BillableAfterRenewal.PurchasedSeats,
			s.BillableAfterRenewal.BillableSeats, money(s.BillableAfterRenewal.MonthlyCostCents))},
	)
	if err != nil {
		return err
	}
	if p := s.Contract.PendingReduction; p != nil {
		fmt.Fprintf(w, "Seats lowered to %d from %s (the renewal).\n", p.Seats, p.EffectiveAt)
	}
	if s.Contract.ProratedAdditionsCents > 0 {
		fmt.Fprintf(w, "Seats added this term, prorated: %s.\n", money(s.Contract.ProratedAdditionsCents))
	}
	if len(s.Addons) > 0 {
		rows := make([][]string, 0, len(s.Addons))
		for _, a := range s.Addons {
			price := money(a.UserPriceCents)
			if a.IncludedInPlan {
				price = "included"
			}
			rows = append(rows, []string{a.Name + " (" + a.ID + ")", strconv.Itoa(a.Users), price, money(a.MonthlyCents)})
		}
		fmt.Fprintln(w, "Add-ons:")
		if err := writeTable(w, "ADD-ON\tUSERS\tPER USER\tMONTHLY", rows); err != nil {
			return err
		}
	}
	for _, d := range s.PossibleDuplicates {
		names := make([]string, 0, len(d.Users))
		for _, u := range d.Users {
			names = append(names, u.UserName)
		}
		fmt.Fprintf(w, "Possible duplicate: %s holds %d seats (%s), %s per month beyond one.\n", d.Email, len(d.Users), strings.Join(names, ", "), money(d.ExtraMonthlyCents))
	}
	if s.BillingTrigger != "" {
		fmt.Fprintf(w, "Billing: %s.\n", s.BillingTrigger)
	}
	return nil
}

// seatEvents is the seat ledger, oldest first.
func seatEvents(ctx context.Context, sys *system, args []string) error {
	l := listQuery{filters: [][2]string{
		{"user", "one user's events: a user id, or the userName of a current user"},
		{"from", "from this time (inclusive): RFC 3339 or a date"},
		{"to", "until this time (exclusive): RFC 3339 or a date"},
	}}
	c, pos, err := parseArgs(sys, "seats events", args, l.setup, "TENANT")
	if err != nil {
		return err
	}
	path := l.path(tenantPath(pos[0], "seats", "events"))
	type event struct {
		Seq    int64     `json:"seq"`
		At     string    `json:"at"`
		UserID string    `json:"user_id"`
		Seat   string    `json:"seat"`
		Delta  int       `json:"delta"`
		Reason string    `json:"reason"`
		Actor  actorJSON `json:"actor"`
	}
	return listEntries(ctx, c, path, "events", l.page, "SEQ\tAT\tUSER\tSEAT\tCHANGE\tREASON\tBY", func(e event) []string {
		return []string{strconv.FormatInt(e.Seq, 10), e.At, e.UserID, e.Seat, fmt.Sprintf("%+d", e.Delta), e.Reason, e.Actor.String()}
	})
}

// seatUsage is the tenant's seat-usage history, one row per interval: the
// state at the end of each (the interval in progress: now). The tenant is
// TENANT or --tenant.
func seatUsage(ctx context.Context, sys *system, args []string) error {
	var fs *flag.FlagSet
	var tenant string
	c, pos, err := parseCLI(sys, "seats usage", args, func(s *flag.FlagSet) {
		fs = s
		s.StringVar(&tenant, "tenant", "", "the tenant (or give it as TENANT)")
		s.String("from", "", "the first day, YYYY-MM-DD in UTC (the server's default: 29 days before --to)")
		s.String("to", "", "the last day, included (the server's default: today)")
		s.String("interval", "", "day, week (from Monday) or month (the server's default: day)")
	})
	if err != nil {
		return err
	}
	if tenant != "" {
		if len(pos) > 0 {
			return usageErr("seats usage: give the tenant once, as TENANT or --tenant")
		}
		pos = []string{tenant}
	}
	if err := wantArgs("seats usage", pos, "TENANT"); err != nil {
		return err
	}
	var u struct {
		Interval string `json:"interval"`
		From     string `json:"from"`
		To       string `json:"to"`
		AsOf     string `json:"as_of"`
		Currency string `json:"currency"`
		Points   []struct {
			Start        time.Time `json:"start"`
			End          time.Time `json:"end"`
			At           time.Time `json:"at"`
			Consumed     int       `json:"consumed"`
			Light        int       `json:"light"`
			PeakConsumed int       `json:"peak_consumed"`
			Usable       int       `json:"usable"`
			Purchased    int       `json:"purchased"`
			Billable     int       `json:"billable"`
			CostCents    int64     `json:"cost_cents"`
		} `json:"points"`
	}
	path := withParams(tenantPath(pos[0], "seats", "usage"), fs, "from", "to", "interval")
	return c.do(ctx, "GET", path, nil, &u, func(w io.Writer) error {
		fmt.Fprintf(w, "Seat usage of tenant %s, %s to %s by %s: the state at the end of each interval (costs per month, %s).\n",
			pos[0], u.From, u.To, u.Interval, u.Currency)
		rows := make([][]string, 0, len(u.Points))
		inProgress := false
		for _, p := range u.Points {
			last := p.End.AddDate(0, 0, -1).Format(time.DateOnly) // End is the next interval's first day
			if !p.At.Equal(p.End) {
				last, inProgress = last+" *", true
			}
			rows = append(rows, []string{p.Start.Format(time.DateOnly), last, strconv.Itoa(p.Consumed), strconv.Itoa(p.PeakConsumed),
				strconv.Itoa(p.Light), strconv.Itoa(p.Purchased), strconv.Itoa(p.Usable), strconv.Itoa(p.Billable), money(p.CostCents)})
		}
		if err := writeTable(w, "FROM\tTO\tCONSUMED\tPEAK\tLIGHT\tPURCHASED\tUSABLE\tBILLABLE\tMONTHLY COST", rows); err != nil {
			return err
		}
		if inProgress {
			fmt.Fprintf(w, "* in progress: the state at %s.\n", u.AsOf)
		}
		return nil
	})
}

// actorJSON is who did something, as the admin API shows it.
type actorJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (a actorJSON) String() string { return actorName(a.Kind, a.Name, a.ID) }

// ---- report ----

func reportCmd(ctx context.Context, sys *system, args []string) error {
	return subs{{"dormant", reportDormant}}.dispatch(ctx, sys, "report", args)
}

func reportDormant(ctx context.Context, sys *system, args []string) error {
	var fs *flag.FlagSet
	c, pos, err := parseArgs(sys, "report dormant", args, func(s *flag.FlagSet) {
		fs = s
		s.Int("days", 0, "no sign-in for this many days (the server's default: 30)")
	}, "TENANT")
	if err != nil {
		return err
	}
	var rep struct {
		AsOf             time.Time `json:"as_of"`
		Days             int       `json:"days"`
		Users            int       `json:"users"`
		MonthlyCostCents int64     `json:"monthly_cost_cents"`
		Note             string    `json:"note"`
		Seats            []struct {
			UserName         string     `json:"user_name"`
			Role             string     `json:"role"`
			Seat             string     `json:"seat"`
			LastActiveAt     *time.Time `json:"last_active_at"`
			DaysSinceActive  int        `json:"days_since_active"`
			NeverSignedIn    bool       `json:"never_signed_in"`
			MonthlyCostCents int64      `json:"monthly_cost_cents"`
		} `json:"seats"`
	}
	return c.do(ctx, "GET", withParams(tenantPath(pos[0], "reports", "dormant"), fs, "days"), nil, &rep, func(w io.Writer) error {
		fmt.Fprintf(w, "%d seat holder(s) of tenant %s with no sign-in for %d days or never (as of %s): %s per month.\n",
			rep.Users, pos[0], rep.Days, rep.AsOf.UTC().Format(time.RFC3339), money(rep.MonthlyCostCents))
		rows := make([][]string, 0, len(rep.Seats))
		for _, s := range rep.Seats {
			last := "never"
			if !s.NeverSignedIn {
				last = timeOrDash(s.LastActiveAt)
			}
			rows = append(rows, []string{s.UserName, s.Role, s.Seat, last, strconv.Itoa(s.DaysSinceActive), money(s.MonthlyCostCents)})
		}
		if err := writeTable(w, "USERNAME\tROLE\tSEAT\tLAST SIGN-IN\tDAYS IDLE\tMONTHLY", rows); err != nil {
			return err
		}
		if rep.Note != "" {
			fmt.Fprintf(w, "Note: %s.\n", rep.Note)
		}
		return nil
	})
}

// ---- audit ----

// auditCmd is a tenant's audit trail, newest first, or with --operator the
// operator trail (events that outlive a tenant).
func auditCmd(ctx context.Context, sys *system, args []string) error {
	var operator bool
	l := listQuery{filters: [][2]string{
		{"user", "events about this user id"},
		{"actor", "events by this actor id"},
		{"action", "events of this action, e.g. user.created"},
		{"from", "from this time (inclusive): RFC 3339 or a date"},
		{"to", "until this time (exclusive): RFC 3339 or a date"},
	}}
	c, pos, err := parseCLI(sys, "audit", args, func(s *flag.FlagSet) {
		l.setup(s)
		s.BoolVar(&operator, "operator", false, "the operator trail instead of a tenant's")
	})
	if err != nil {
		return err
	}
	path := "/admin/v1/audit"
	switch {
	case operator && len(pos) > 0:
		return usageErr("audit --operator takes no TENANT, got %d argument(s)", len(pos))
	case !operator:
		if err := wantArgs("audit", pos, "TENANT"); err != nil {
			return err
		}
		path = tenantPath(pos[0], "audit")
	}
	path = l.path(path)
	type event struct {
		Seq        int64     `json:"seq"`
		Time       time.Time `json:"time"`
		Actor      actorJSON `json:"actor"`
		Action     string    `json:"action"`
		TargetType string    `json:"target_type"`
		TargetID   string    `json:"target_id"`
		Detail     string    `json:"detail"`
	}
	return listEntries(ctx, c, path, "events", l.page, "SEQ\tTIME\tACTOR\tACTION\tTARGET\tDETAIL", func(e event) []string {
		return []string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339), e.Actor.String(), e.Action,
			strings.TrimSuffix(e.TargetType+" "+e.TargetID, " "), e.Detail}
	})
}
