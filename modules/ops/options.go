package ops

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults of the settings.
const (
	// DefaultAddr keeps the ops endpoints on this machine: set Addr, or the
	// ops.addr key, to reach them from elsewhere, such as ":8181" for a
	// kubelet's probes.
	DefaultAddr = "127.0.0.1:8181"
	// DefaultCheckTimeout bounds each check of a probe.
	DefaultCheckTimeout = time.Second
)

// Settings are the ops module's settings as the configuration holds them,
// in the section "ops":
//
//	ops:
//	  addr: ":8181"
//	  shutdown_delay: 5s
//	  check_timeout: 1s
//	  readiness_except: [batch]
//
// Bind them with config.Provide[ops.Settings]("ops"); a key that is set
// wins over the Option of the same name, as a services.<name> section
// wins over code.
type Settings struct {
	// Addr is the host:port the ops endpoints listen on.
	Addr string `config:"addr"`
	// ShutdownDelay is how long /readyz fails before the services begin
	// to stop, so load balancers stop sending requests first.
	ShutdownDelay time.Duration `config:"shutdown_delay" validate:"gte=0"`
	// CheckTimeout bounds each check of a probe, the supervisor's answer included.
	CheckTimeout time.Duration `config:"check_timeout" validate:"gte=0"`
	// ReadinessExcept names services /readyz does not wait for.
	ReadinessExcept []string `config:"readiness_except"`
}

// An Option configures Module in code.
type Option interface {
	fmt.Stringer
	apply(*settings)
}

// settings are the effective settings, with where the Addr came from for
// messages.
type settings struct {
	Settings
	addrFrom string
	clock    clockwork.Clock
}

func defaultSettings() settings {
	return settings{
		Settings: Settings{Addr: DefaultAddr, CheckTimeout: DefaultCheckTimeout},
		addrFrom: "the default",
		clock:    clockwork.NewRealClock(),
	}
}

// merge lets the keys the configuration sets win over code.
func (s settings) merge(c *Settings) settings {
	if c == nil {
		return s
	}
	if c.Addr != "" {
		s.Addr, s.addrFrom = c.Addr, "the configuration's ops.addr"
	}
	if c.ShutdownDelay != 0 {
		s.ShutdownDelay = c.ShutdownDelay
	}
	if c.CheckTimeout != 0 {
		s.CheckTimeout = c.CheckTimeout
	}
	if c.ReadinessExcept != nil {
		s.ReadinessExcept = c.ReadinessExcept
	}
	return s
}

// validate reports settings the module cannot run with.
func (s settings) validate() error {
	if _, port, err := net.SplitHostPort(s.Addr); err != nil || port == "" {
		return fmt.Errorf("ops: addr %q from %s: want host:port, such as %q or \":8181\"", s.Addr, s.addrFrom, DefaultAddr)
	}
	if s.ShutdownDelay < 0 {
		return fmt.Errorf("ops: shutdown delay %v: want 0 or more", s.ShutdownDelay)
	}
	if s.CheckTimeout <= 0 {
		return fmt.Errorf("ops: check timeout %v: want more than 0", s.CheckTimeout)
	}
	return nil
}

// Addr sets the host:port the ops endpoints listen on; DefaultAddr unless
// given. Port 0 picks a free port, which Server.Addr reports.
func Addr(addr string) Option { return addrOption(addr) }

type addrOption string

func (o addrOption) apply(s *settings) {
	s.Addr, s.addrFrom = string(o), fmt.Sprintf("ops.Addr(%q)", string(o))
}
func (o addrOption) String() string { return fmt.Sprintf("ops.Addr(%q)", string(o)) }

// ShutdownDelay makes /readyz fail for d before the services begin to
// stop, so that load balancers polling it stop sending requests while the
// services still answer them. It is spent out of the app's stop timeout.
func ShutdownDelay(d time.Duration) Option { return shutdownDelayOption(d) }

type shutdownDelayOption time.Duration

func (o shutdownDelayOption) apply(s *settings) { s.ShutdownDelay = time.Duration(o) }
func (o shutdownDelayOption) String() string {
	return fmt.Sprintf("ops.ShutdownDelay(%v)", time.Duration(o))
}

// CheckTimeout bounds each check of a probe: the supervisor that does not
// answer within d is reported wedged, and a Check's context ends after d.
// DefaultCheckTimeout unless given; keep it under the probe's own timeout.
func CheckTimeout(d time.Duration) Option { return checkTimeoutOption(d) }

type checkTimeoutOption time.Duration

func (o checkTimeoutOption) apply(s *settings) { s.CheckTimeout = time.Duration(o) }
func (o checkTimeoutOption) String() string {
	return fmt.Sprintf("ops.CheckTimeout(%v)", time.Duration(o))
}

// ReadinessExcept leaves the named services out of /readyz: the app is
// ready whatever their state, as for a batch job that may fail alone. A
// name covers all the service's replicas.
func ReadinessExcept(services ...string) Option { return readinessExceptOption(services) }

type readinessExceptOption []string

func (o readinessExceptOption) apply(s *settings) {
	s.ReadinessExcept = append(slices.Clone(s.ReadinessExcept), o...)
}
func (o readinessExceptOption) String() string {
	quoted := make([]string, len(o))
	for i, n := range o {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return "ops.ReadinessExcept(" + strings.Join(quoted, ", ") + ")"
}
