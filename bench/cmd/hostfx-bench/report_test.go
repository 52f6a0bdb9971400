package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestVerdict(t *testing.T) {
	tests := []struct {
		give row
		want string
	}{
		{give: row{ratio: 1.2, goal: 1.5}, want: "ok"},
		{give: row{ratio: 1.5, goal: 1.5}, want: "ok"},
		{give: row{ratio: 1.6, goal: 1.5}, want: "MISSED"},
		{give: row{ratio: 3}, want: "info"},
		{give: row{ratio: 9, pass: boolp(true)}, want: "ok"},
		{give: row{ratio: 0, pass: boolp(false)}, want: "MISSED"},
		{give: row{ratio: 0.1, goal: 0.5, why: "no API"}, want: "n/a"},
	}
	for _, tt := range tests {
		if got := tt.give.verdict(); got != tt.want {
			t.Errorf("verdict of %+v = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestRatiosLine(t *testing.T) {
	rep := newReport()
	rep.add(row{name: "a", ratio: 1.234, goal: 2})
	rep.add(row{name: "info", ratio: 3})                   // no goal: not in the line
	rep.add(row{name: "b", ratio: 0.5, goal: 1, why: "x"}) // not measurable
	rep.set("c", "7")
	var out bytes.Buffer
	if err := rep.write(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if got, want := lines[len(lines)-1], "ratios: a=1.23 b=na c=7"; got != want {
		t.Errorf("last line %q, want %q", got, want)
	}
}

func TestDur(t *testing.T) {
	tests := []struct {
		give time.Duration
		want string
	}{
		{give: 34, want: "34 ns"},
		{give: 1234, want: "1.23 µs"},
		{give: 5_678_900, want: "5.68 ms"},
		{give: 2 * time.Second, want: "2 s"},
	}
	for _, tt := range tests {
		if got := dur(tt.give); got != tt.want {
			t.Errorf("dur(%d) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
