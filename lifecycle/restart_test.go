package lifecycle_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hostfx/hostfx/lifecycle"
)

func TestStrategyText(t *testing.T) {
	tests := []struct {
		give string
		want lifecycle.Strategy
	}{
		{"IMMEDIATE", lifecycle.Immediate()},
		{"fixed-backoff", lifecycle.FixedBackoff(5 * time.Second)},
		{"exponentialBackoff", lifecycle.ExponentialBackoff(time.Second, time.Minute, 5*time.Second)},
		{"linear_backoff", lifecycle.LinearBackoff(time.Second, time.Minute)},
	}
	for _, tt := range tests {
		var s lifecycle.Strategy
		require.NoError(t, s.UnmarshalText([]byte(tt.give)), tt.give)
		assert.Equal(t, tt.want, s)
		text, err := s.MarshalText()
		require.NoError(t, err)
		var back lifecycle.Strategy
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, s, back)
	}
	var s lifecycle.Strategy
	err := s.UnmarshalText([]byte("sometimes"))
	assert.ErrorIs(t, err, lifecycle.ErrUnknownStrategy)
	assert.EqualError(t, err, `unknown restart strategy "sometimes": want one of IMMEDIATE, FIXED_BACKOFF, EXPONENTIAL_BACKOFF, LINEAR_BACKOFF`)
}

func TestPolicyText(t *testing.T) {
	for _, p := range []lifecycle.Policy{lifecycle.OnFailure, lifecycle.Always, lifecycle.Never} {
		text, err := p.MarshalText()
		require.NoError(t, err)
		var back lifecycle.Policy
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, p, back)
	}
	got, err := lifecycle.ParsePolicy("on-failure")
	require.NoError(t, err)
	assert.Equal(t, lifecycle.OnFailure, got)
	_, err = lifecycle.ParsePolicy("maybe")
	assert.EqualError(t, err, `unknown restart policy "maybe": want one of ON_FAILURE, ALWAYS, NEVER`)
	_, err = lifecycle.Policy(0).MarshalText()
	assert.ErrorIs(t, err, lifecycle.ErrUnknownPolicy)
}
