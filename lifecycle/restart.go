package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hostfx/hostfx/internal/names"
)

// ErrNoRestart is wrapped in the error a service's entry point returns to
// say "do not restart me": the service ends whatever its policy, and the
// end is not a failure.
var ErrNoRestart = errors.New("do not restart")

// StrategyKind names a restart strategy. Its String form is the name used
// in configuration files.
type StrategyKind uint8

// The restart strategies.
const (
	// StrategyImmediate restarts at once.
	StrategyImmediate StrategyKind = iota + 1
	// StrategyFixedBackoff waits the same delay before every restart.
	StrategyFixedBackoff
	// StrategyExponentialBackoff doubles the delay each attempt, up to a cap, and
	// adds random jitter, at most half the delay, so services failing
	// together do not restart in step.
	StrategyExponentialBackoff
	// StrategyLinearBackoff grows the delay by one step each attempt, up to a cap.
	StrategyLinearBackoff
)

var strategyNames = [...]string{
	StrategyImmediate:          "IMMEDIATE",
	StrategyFixedBackoff:       "FIXED_BACKOFF",
	StrategyExponentialBackoff: "EXPONENTIAL_BACKOFF",
	StrategyLinearBackoff:      "LINEAR_BACKOFF",
}

// Defaults of the strategies.
const (
	DefaultFixedDelay  = 5 * time.Second
	DefaultInitial     = time.Second
	DefaultMaxDelay    = 60 * time.Second
	DefaultMaxJitter   = 5 * time.Second
	DefaultLinearStep  = time.Second
	DefaultMaxRestarts = 5
	DefaultWindow      = 60 * time.Second
)

// ErrUnknownStrategy is wrapped by every error that rejects a strategy name.
var ErrUnknownStrategy = errors.New("unknown restart strategy")

func (k StrategyKind) String() string {
	if k >= StrategyImmediate && k <= StrategyLinearBackoff {
		return strategyNames[k]
	}
	return fmt.Sprintf("StrategyKind(%d)", uint8(k))
}

// ParseStrategyKind reads a strategy name, ignoring case and accepting
// snake, kebab and camel spellings.
func ParseStrategyKind(s string) (StrategyKind, error) {
	key := names.Key(s)
	for k := StrategyImmediate; k <= StrategyLinearBackoff; k++ {
		if names.Key(strategyNames[k]) == key {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want one of %s", ErrUnknownStrategy, s, strings.Join(strategyNames[1:], ", "))
}

// Strategy says how long to wait before each restart of a failed service.
// Build one with Immediate, FixedBackoff, ExponentialBackoff or
// LinearBackoff, or DefaultStrategy; the zero value is the default,
// exponential backoff.
type Strategy struct {
	Kind StrategyKind
	// Delay is the fixed delay, the initial delay of exponential backoff,
	// or the step of linear backoff.
	Delay time.Duration
	// Max caps exponential and linear delays, before jitter.
	Max time.Duration
	// MaxJitter bounds the uniform random delay added by exponential
	// backoff; the jitter is also never more than half the delay it is
	// added to.
	MaxJitter time.Duration
}

// Immediate restarts at once.
func Immediate() Strategy { return Strategy{Kind: StrategyImmediate} }

// FixedBackoff waits d before every restart.
func FixedBackoff(d time.Duration) Strategy { return Strategy{Kind: StrategyFixedBackoff, Delay: d} }

// ExponentialBackoff waits initial, then twice as long each attempt, capped at
// maxDelay, plus a uniform random jitter in [0, min(maxJitter, delay/2)].
func ExponentialBackoff(initial, maxDelay, maxJitter time.Duration) Strategy {
	return Strategy{Kind: StrategyExponentialBackoff, Delay: initial, Max: maxDelay, MaxJitter: maxJitter}
}

// LinearBackoff waits step, then one step longer each attempt, capped at
// maxDelay.
func LinearBackoff(step, maxDelay time.Duration) Strategy {
	return Strategy{Kind: StrategyLinearBackoff, Delay: step, Max: maxDelay}
}

// DefaultStrategy returns the strategy of kind k with its default
// parameters: fixed 5s; exponential from 1s, capped at 60s, with a jitter
// of at most 5s and at most half the delay (so the first restart comes
// after 1 to 1.5s); linear by 1s steps, capped at 60s.
func DefaultStrategy(k StrategyKind) Strategy {
	switch k {
	case StrategyImmediate:
		return Immediate()
	case StrategyFixedBackoff:
		return FixedBackoff(DefaultFixedDelay)
	case StrategyLinearBackoff:
		return LinearBackoff(DefaultLinearStep, DefaultMaxDelay)
	}
	return ExponentialBackoff(DefaultInitial, DefaultMaxDelay, DefaultMaxJitter)
}

// Validate reports a strategy no service can use.
func (s Strategy) Validate() error {
	if s.Kind != 0 && (s.Kind < StrategyImmediate || s.Kind > StrategyLinearBackoff) {
		return fmt.Errorf("%w: %v", ErrUnknownStrategy, s.Kind)
	}
	if s.Delay < 0 || s.Max < 0 || s.MaxJitter < 0 {
		return fmt.Errorf("restart strategy %v: delays must not be negative", s)
	}
	if (s.Kind == StrategyExponentialBackoff || s.Kind == StrategyLinearBackoff) && s.Max < s.Delay {
		return fmt.Errorf("restart strategy %v: the cap must be at least the first delay", s)
	}
	return nil
}

// withDefaults makes the zero Strategy the default one.
func (s Strategy) withDefaults() Strategy {
	if s.Kind == 0 {
		return DefaultStrategy(StrategyExponentialBackoff)
	}
	return s
}

func (s Strategy) String() string {
	s = s.withDefaults()
	switch s.Kind {
	case StrategyImmediate:
		return "IMMEDIATE"
	case StrategyFixedBackoff:
		return fmt.Sprintf("FIXED_BACKOFF(%v)", s.Delay)
	case StrategyExponentialBackoff:
		return fmt.Sprintf("EXPONENTIAL_BACKOFF(%v, %v, %v)", s.Delay, s.Max, s.MaxJitter)
	case StrategyLinearBackoff:
		return fmt.Sprintf("LINEAR_BACKOFF(%v, %v)", s.Delay, s.Max)
	}
	return s.Kind.String()
}

// MarshalText implements encoding.TextMarshaler with the strategy's name.
func (s Strategy) MarshalText() ([]byte, error) {
	return []byte(s.withDefaults().Kind.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler: it reads a strategy
// name and gives the strategy its default parameters.
func (s *Strategy) UnmarshalText(text []byte) error {
	k, err := ParseStrategyKind(string(text))
	if err != nil {
		return err
	}
	*s = DefaultStrategy(k)
	return nil
}

// Policy says which ends of a service's entry point lead to a restart.
type Policy uint8

// The restart policies.
const (
	// OnFailure restarts after an error, a panic or a crash; a clean return
	// ends the service normally. It is the default.
	OnFailure Policy = iota + 1
	// Always restarts after any end while the app runs, clean or not.
	Always
	// Never restarts; a failure is final.
	Never
)

var policyNames = [...]string{OnFailure: "ON_FAILURE", Always: "ALWAYS", Never: "NEVER"}

// ErrUnknownPolicy is wrapped by every error that rejects a policy name.
var ErrUnknownPolicy = errors.New("unknown restart policy")

func (p Policy) String() string {
	if p >= OnFailure && p <= Never {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy reads a policy name, ignoring case and accepting snake, kebab
// and camel spellings.
func ParsePolicy(s string) (Policy, error) {
	key := names.Key(s)
	for p := OnFailure; p <= Never; p++ {
		if names.Key(policyNames[p]) == key {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want one of %s", ErrUnknownPolicy, s, strings.Join(policyNames[1:], ", "))
}

// MarshalText implements encoding.TextMarshaler.
func (p Policy) MarshalText() ([]byte, error) {
	if p < OnFailure || p > Never {
		return nil, fmt.Errorf("%w: %d", ErrUnknownPolicy, uint8(p))
	}
	return []byte(policyNames[p]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Policy) UnmarshalText(text []byte) error {
	parsed, err := ParsePolicy(string(text))
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}
