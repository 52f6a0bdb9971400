package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hostfx/hostfx/bench/internal/harness"
)

// row is one line of the results table.
type row struct {
	name     string
	hostfx   string
	baseline string
	cmp      *harness.Ratio // hostfx against the baseline, round by round; or
	ratio    float64        // a ratio of its own; NaN when there is none
	goal     float64        // the largest ratio that passes; 0 for a figure without a goal
	least    float64        // the smallest ratio that passes, for a figure where more is better
	goalText string         // overrides the goal column, e.g. "0 allocs"
	pass     *bool          // overrides the ratio test, for goals that are not ratios
	why      string         // for a row that could not be measured
}

// verdict says whether the row meets its goal. A ratio measured round by
// round meets it only when its whole spread (the quartiles of the rounds'
// ratios) does, misses it when its whole spread does, and is "noisy" when
// the goal lies within the spread: the machine moved it too much to say.
func (r row) verdict() string {
	lo, hi := r.ratio, r.ratio
	if r.cmp != nil {
		lo, hi = r.cmp.Lo, r.cmp.Hi
	}
	switch {
	case r.why != "":
		return "n/a"
	case r.pass != nil && *r.pass:
		return "ok"
	case r.pass != nil:
		return "MISSED"
	case r.goal > 0 && hi <= r.goal, r.least > 0 && lo >= r.least:
		return "ok"
	case r.goal > 0 && lo > r.goal, r.least > 0 && hi < r.least:
		return "MISSED"
	case r.goal > 0, r.least > 0:
		return "noisy"
	}
	return "info"
}

func (r row) goalColumn() string {
	switch {
	case r.goalText != "":
		return r.goalText
	case r.goal > 0:
		return fmt.Sprintf("≤ %g", r.goal)
	case r.least > 0:
		return fmt.Sprintf("≥ %g", r.least)
	}
	return "-"
}

// ratioColumn prints the ratio, with its spread when it has one.
func (r row) ratioColumn() string {
	if r.cmp == nil {
		return ratioText(r.ratio)
	}
	return fmt.Sprintf("%.2f [%.2f..%.2f]", r.cmp.Median, r.cmp.Lo, r.cmp.Hi)
}

func ratioText(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

// report holds the rows in the order they were measured, and the values of
// the machine-readable line.
type report struct {
	rows   []row
	keys   []string
	values map[string]string
	notes  []string
	scale  []scaleLine

	// What later benchmarks compare with.
	results map[string]harness.Result
	rss     map[string]int64
}

func newReport() *report {
	return &report{values: map[string]string{}, results: map[string]harness.Result{}, rss: map[string]int64{}}
}

func (r *report) add(x row) {
	if x.cmp != nil {
		x.ratio = x.cmp.Median
	}
	r.rows = append(r.rows, x)
	v := ratioText(x.ratio)
	if x.why != "" || v == "-" {
		v = "na"
	}
	if x.goal > 0 || x.least > 0 || x.pass != nil || x.why != "" {
		r.set(x.name, v)
	}
}

// set records a value for the ratios line without a table row.
func (r *report) set(key, value string) {
	if _, ok := r.values[key]; !ok {
		r.keys = append(r.keys, key)
	}
	r.values[key] = value
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// write prints the table, the notes and the ratios line.
func (r *report) write(w io.Writer) error {
	var table, b strings.Builder
	fmt.Fprintln(&table, "measure\thostfx\tbaseline\tratio\tgoal\tverdict")
	for _, x := range r.rows {
		fmt.Fprintf(&table, "%s\t%s\t%s\t%s\t%s\t%s\n", x.name, x.hostfx, x.baseline, x.ratioColumn(), x.goalColumn(), x.verdict())
	}
	b.WriteString(tabulate(table.String()))
	for _, x := range r.rows {
		if x.why != "" {
			fmt.Fprintf(&b, "\n%s: %s", x.name, x.why)
		}
	}
	if len(r.scale) > 0 {
		b.WriteString("\n\n")
		r.writeScale(&b)
	}
	if len(r.notes) > 0 {
		b.WriteString("\n")
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\n%s", n)
	}
	b.WriteString("\n\n")
	parts := make([]string, len(r.keys))
	for i, k := range r.keys {
		parts[i] = k + "=" + r.values[k]
	}
	fmt.Fprintf(&b, "ratios: %s\n", strings.Join(parts, " "))
	_, err := io.WriteString(w, b.String())
	return err
}

// tabulate lines up the tab-separated cells of text in columns.
func tabulate(text string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	// A strings.Builder takes every write, so neither call can fail.
	_, _ = io.WriteString(tw, text)
	_ = tw.Flush()
	return b.String()
}

// dur prints a duration with three significant digits.
func dur(d time.Duration) string {
	f := float64(d)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%.3g ns", f)
	case d < time.Millisecond:
		return fmt.Sprintf("%.3g µs", f/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.3g ms", f/1e6)
	}
	return fmt.Sprintf("%.3g s", f/1e9)
}

// spread prints a median with its fastest and slowest samples.
func spread(r harness.Result) string {
	return fmt.Sprintf("%s [%s..%s]", dur(r.PerOp), dur(r.Lo), dur(r.Hi))
}

// compare is a's ratio to b, round by round; see harness.Compare.
func compare(a, b harness.Result) *harness.Ratio {
	c := harness.Compare(a, b)
	return &c
}

func kib(k int64) string {
	if k >= 10*1024 {
		return fmt.Sprintf("%.1f MiB", float64(k)/1024)
	}
	return fmt.Sprintf("%d KiB", k)
}

func boolp(b bool) *bool { return &b }

// writeScale prints the scale table: each app at a tenth of its size and
// at full size, and how its per-service time and memory grew between them.
func (r *report) writeScale(b *strings.Builder) {
	var table strings.Builder
	fmt.Fprintln(&table, "scale\tservices\tNew\tStart\tStop\ttotal per service\tpeak RSS per service\tgrowth ×10: time, RSS per service")
	for _, l := range r.scale {
		for _, x := range []scaleResult{l.small, l.big} {
			growth := "-"
			if x.N == l.big.N {
				growth = fmt.Sprintf("%.2f, %.2f", (float64(x.total())/float64(x.N))/(float64(l.small.total())/float64(l.small.N)),
					x.perService()/l.small.perService())
			}
			fmt.Fprintf(&table, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", scaleKinds[x.Kind], x.N, dur(x.Build), dur(x.Start), dur(x.Stop),
				dur(x.total()/time.Duration(x.N)), kib(int64(x.perService())), growth)
		}
	}
	b.WriteString(tabulate(table.String()))
	for _, l := range r.scale {
		if l.big.Children > 0 {
			fmt.Fprintf(b, "%s: %d children, %s of them in all by VmHWM, which counts the binary's shared pages in "+
				"every child; %s by Pss (%s a child); the parent grew by %s.\n",
				scaleKinds[l.big.Kind], l.big.Children, kib(l.big.ChildrenKB), kib(l.big.ChildrenPssKB),
				kib(l.big.ChildrenPssKB/int64(l.big.Children)), kib(l.big.PeakKB-l.big.BaseKB))
		}
	}
}

var nan = math.NaN()
