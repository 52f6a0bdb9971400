package supervisor

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/internal/executor"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

func TestRestartDelaysFollowTheStrategy(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		give lifecycle.Strategy
		want []time.Duration
	}{
		{"immediate", lifecycle.Immediate(), []time.Duration{0, 0, 0, 0}},
		{"fixed", lifecycle.FixedBackoff(2 * s), []time.Duration{2 * s, 2 * s, 2 * s, 2 * s}},
		{"linear", lifecycle.LinearBackoff(s, 3*s), []time.Duration{s, 2 * s, 3 * s, 3 * s}},
		{"exponential", lifecycle.ExponentialBackoff(s, 4*s, 0), []time.Duration{s, 2 * s, 4 * s, 4 * s}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(lifecycle.Restart(tt.give), lifecycle.Intensity(100, time.Hour))
			r := f.start(t)
			for i, want := range tt.want {
				r.end(fmt.Errorf("failure %d", i))
				ev := waitFor[*lifecycle.Restarting](t, f.rec, i+1)
				require.Equal(t, want, ev.Delay, "restart %d", i+1)
				assert.Equal(t, i+1, ev.Attempt)
				assert.EqualError(t, ev.Cause, fmt.Sprintf("failure %d", i))
				if want > 0 {
					assert.Equal(t, lifecycle.StateBackoff, f.svc.State())
					f.advance(t, want)
				}
				r = f.exec.next(t)
			}
			assert.Equal(t, len(tt.want), f.svc.Status().Restarts)
			f.stop(t, r)
			assert.EqualValues(t, 1, f.exec.maxLive.Load(), "never two runs at once")
		})
	}
}

func TestRestartMatrix(t *testing.T) {
	boom := errors.New("boom")
	ends := []struct {
		name string
		err  error
	}{
		{"nil return", nil},
		{"error", boom},
		{"panic", &modes.PanicError{Value: "kaboom", Func: "Run"}},
		{"do not restart", fmt.Errorf("finished: %w", lifecycle.ErrNoRestart)},
		{"killed", errors.New("signal: killed")},
		{"clean, for a reason", &executor.CleanEnd{Reason: "child 7 stopped in order on SIGTERM sent to it directly"}},
	}
	policies := []struct {
		policy lifecycle.Policy
		want   []bool // per end above: restarted?
	}{
		{lifecycle.Always, []bool{true, true, true, false, true, true}},
		{lifecycle.OnFailure, []bool{false, true, true, false, true, false}},
		{lifecycle.Never, []bool{false, false, false, false, false, false}},
	}
	for _, p := range policies {
		for i, end := range ends {
			t.Run(fmt.Sprintf("%v/%s", p.policy, end.name), func(t *testing.T) {
				f := newFixture(lifecycle.RestartPolicy(p.policy), lifecycle.Restart(lifecycle.Immediate()))
				r := f.start(t)
				r.end(end.err)
				failed := end.err != nil && !errors.Is(end.err, lifecycle.ErrNoRestart) && !cleanEnd(end.err)
				if p.want[i] {
					r = f.exec.next(t)
					assert.Equal(t, 1, count[*lifecycle.Restarting](f.rec))
					f.stop(t, r)
					return
				}
				if failed {
					assert.Same(t, end.err, <-f.gave, "a failure that is not restarted gives up")
					assert.Equal(t, lifecycle.StateFailed, f.svc.State())
				} else {
					exited := waitFor[*lifecycle.Exited](t, f.rec, 1)
					assert.Equal(t, end.err, exited.Err, "the event tells why it ended")
					assert.Eventually(t, func() bool { return f.svc.State() == lifecycle.StateExited }, time.Minute, time.Millisecond)
					assert.NoError(t, f.svc.Status().LastError, "a clean end is no failure")
				}
				assert.Zero(t, count[*lifecycle.Restarting](f.rec))
				assert.NoError(t, f.svc.Stop(t.Context()), "stopping an ended service does nothing")
			})
		}
	}
}

func TestIntensityGivesUp(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(3, time.Minute))
	r := f.start(t)
	for i := range 3 {
		r.end(fmt.Errorf("failure %d", i))
		r = f.exec.next(t)
	}
	r.end(errors.New("last straw"))
	assert.EqualError(t, <-f.gave, "last straw")
	gave := waitFor[*lifecycle.GaveUp](t, f.rec, 1)
	assert.Equal(t, 3, gave.Restarts)
	assert.Equal(t, time.Minute, gave.Window)
	st := f.svc.Status()
	assert.Equal(t, lifecycle.StateFailed, st.State)
	assert.EqualError(t, st.LastError, "last straw")
	assert.Equal(t, 3, st.Restarts)
}

func TestFailuresSpacedWiderThanTheWindowDoNotEscalate(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Minute))
	r := f.start(t)
	for i := range 6 {
		f.clock.Advance(61 * time.Second) // each failure comes after the window
		r.end(fmt.Errorf("failure %d", i))
		r = f.exec.next(t)
	}
	assert.Zero(t, count[*lifecycle.GaveUp](f.rec))
	f.stop(t, r)
}

func TestBackoffStartsOverAfterAStableRun(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.ExponentialBackoff(time.Second, time.Hour, 0)),
		lifecycle.Intensity(100, time.Hour), lifecycle.StableAfter(10*time.Second))
	r := f.start(t)
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		r.end(errors.New("flaky"))
		require.Equal(t, want, waitFor[*lifecycle.Restarting](t, f.rec, i+1).Delay)
		f.advance(t, want)
		r = f.exec.next(t)
	}
	// Started comes after the run's start time is taken, so the stable
	// period below counts from it whatever the order inside the launch.
	waitFor[*lifecycle.Started](t, f.rec, 4)
	f.clock.Advance(10 * time.Second) // this run is stable
	r.end(errors.New("flaky again"))
	require.Equal(t, time.Second, waitFor[*lifecycle.Restarting](t, f.rec, 4).Delay)
	f.advance(t, time.Second)
	f.stop(t, f.exec.next(t))
}

func TestRestartThatFailsToStartCountsAsAFailure(t *testing.T) {
	f := newFixture(lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Hour))
	r := f.start(t)
	r.end(errors.New("first"))
	for range 2 {
		(<-f.exec.launched).end(errors.New("cannot start"))
	}
	assert.ErrorContains(t, <-f.gave, "cannot start")
	assert.Equal(t, 2, f.svc.Status().Restarts)
}

func TestAlwaysGivesUpOnTooManyCleanEnds(t *testing.T) {
	f := newFixture(lifecycle.RestartPolicy(lifecycle.Always), lifecycle.Restart(lifecycle.Immediate()), lifecycle.Intensity(2, time.Minute))
	r := f.start(t)
	for range 2 {
		r.end(nil)
		r = f.exec.next(t)
	}
	r.end(nil)
	assert.EqualError(t, <-f.gave, "ended 3 times within 1m0s")
}
