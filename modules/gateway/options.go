package gateway

import (
	"fmt"
	"net"
	"time"

	"github.com/jonboulle/clockwork"
)

// DefaultAddr keeps the gateway on this machine: set Addr, or the
// gateway.addr key, to take traffic from elsewhere, such as ":8080".
const DefaultAddr = "127.0.0.1:8080"

// Defaults of the limits, as a reverse proxy in front of HTTP services
// usually has them.
const (
	defaultHeaderTimeout  = 10 * time.Second
	defaultBodyTimeout    = time.Minute
	defaultIdleTimeout    = 2 * time.Minute
	defaultDrainTimeout   = 5 * time.Second
	defaultMaxBodyBytes   = 10 << 20
	defaultMaxHeaderBytes = 64 << 10
	defaultBufferBytes    = 64 << 10
)

// Settings are the gateway's settings as the configuration holds them, in
// the section "gateway":
//
//	gateway:
//	  addr: ":8080"
//	  header_timeout: 10s
//	  body_timeout: 1m
//	  idle_timeout: 2m
//	  drain_timeout: 5s
//	  max_body_bytes: 10485760
//	  max_header_bytes: 65536
//	  buffer_bytes: 65536
//	  routes:
//	    - pattern: /api/
//	      service: api
//	      tcp: 127.0.0.1:9001
//	    - pattern: /work/
//	      service: worker
//	      unix: /run/app/worker-{replica}.sock
//
// Bind them with config.Provide[gateway.Settings]("gateway"); a key that is
// set wins over the Option of the same name, and a route wins over the
// Route with the same pattern.
type Settings struct {
	// Addr is the host:port the gateway listens on.
	Addr string `config:"addr"`
	// HeaderTimeout bounds reading a request's line and headers.
	HeaderTimeout time.Duration `config:"header_timeout" validate:"gte=0"`
	// BodyTimeout bounds reading a request's body, from the end of its headers.
	BodyTimeout time.Duration `config:"body_timeout" validate:"gte=0"`
	// IdleTimeout bounds the wait for the next request on a kept-alive connection.
	IdleTimeout time.Duration `config:"idle_timeout" validate:"gte=0"`
	// DrainTimeout bounds the wait for the requests under way when the app stops.
	DrainTimeout time.Duration `config:"drain_timeout" validate:"gte=0"`
	// MaxBodyBytes is the largest request body the gateway passes on.
	MaxBodyBytes int64 `config:"max_body_bytes" validate:"gte=0"`
	// MaxHeaderBytes is the most a request's line and headers may take.
	MaxHeaderBytes int `config:"max_header_bytes" validate:"gte=0"`
	// BufferBytes is the largest response the gateway holds whole before
	// it answers, so that a service that dies mid-response gets a clean
	// 503; 0 in code passes every response through as it comes.
	BufferBytes int64 `config:"buffer_bytes" validate:"gte=0"`
	// Routes are routes of the configuration's own.
	Routes []RouteSettings `config:"routes"`
}

// RouteSettings is a route as the configuration holds it: a pattern, the
// service, and where it listens, on TCP or on a unix socket (one of the
// two). See Route.
type RouteSettings struct {
	Pattern string `config:"pattern"`
	Service string `config:"service"`
	TCP     string `config:"tcp"`
	Unix    string `config:"unix"`
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
	routes   []declared
	addrFrom string
	clock    clockwork.Clock
}

func defaultSettings() settings {
	return settings{
		Settings: Settings{
			Addr:           DefaultAddr,
			HeaderTimeout:  defaultHeaderTimeout,
			BodyTimeout:    defaultBodyTimeout,
			IdleTimeout:    defaultIdleTimeout,
			DrainTimeout:   defaultDrainTimeout,
			MaxBodyBytes:   defaultMaxBodyBytes,
			MaxHeaderBytes: defaultMaxHeaderBytes,
			BufferBytes:    defaultBufferBytes,
		},
		addrFrom: "the default",
		clock:    clockwork.NewRealClock(),
	}
}

// merge lets the keys the configuration sets win over code.
func (s settings) merge(c *Settings) (settings, error) {
	if c == nil {
		return s, nil
	}
	if c.Addr != "" {
		s.Addr, s.addrFrom = c.Addr, "the configuration's gateway.addr"
	}
	for _, kv := range []struct {
		to   *time.Duration
		from time.Duration
	}{
		{&s.HeaderTimeout, c.HeaderTimeout}, {&s.BodyTimeout, c.BodyTimeout},
		{&s.IdleTimeout, c.IdleTimeout}, {&s.DrainTimeout, c.DrainTimeout},
	} {
		if kv.from != 0 {
			*kv.to = kv.from
		}
	}
	if c.MaxBodyBytes != 0 {
		s.MaxBodyBytes = c.MaxBodyBytes
	}
	if c.MaxHeaderBytes != 0 {
		s.MaxHeaderBytes = c.MaxHeaderBytes
	}
	if c.BufferBytes != 0 {
		s.BufferBytes = c.BufferBytes
	}
	routes, err := configured(c.Routes)
	if err != nil {
		return s, err
	}
	s.routes = override(s.routes, routes)
	return s, nil
}

// validate reports settings the gateway cannot run with.
func (s settings) validate() error {
	if _, port, err := net.SplitHostPort(s.Addr); err != nil || port == "" {
		return fmt.Errorf("gateway: addr %q from %s: want host:port, such as %q or \":8080\"", s.Addr, s.addrFrom, DefaultAddr)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{
		{"header timeout", s.HeaderTimeout}, {"body timeout", s.BodyTimeout},
		{"idle timeout", s.IdleTimeout}, {"drain timeout", s.DrainTimeout},
	} {
		if d.d <= 0 {
			return fmt.Errorf("gateway: %s %v: want more than 0", d.name, d.d)
		}
	}
	if s.MaxBodyBytes <= 0 {
		return fmt.Errorf("gateway: max body bytes %d: want more than 0", s.MaxBodyBytes)
	}
	if s.MaxHeaderBytes <= 0 {
		return fmt.Errorf("gateway: max header bytes %d: want more than 0", s.MaxHeaderBytes)
	}
	if s.BufferBytes < 0 {
		return fmt.Errorf("gateway: buffer bytes %d: want 0 (pass every response through) or more", s.BufferBytes)
	}
	if len(s.routes) == 0 {
		return fmt.Errorf("gateway: no routes: declare one with gateway.Route or the configuration's gateway.routes")
	}
	return nil
}

// Addr sets the host:port the gateway listens on; DefaultAddr unless
// given. Port 0 picks a free port, which Server.Addr reports.
func Addr(addr string) Option { return addrOption(addr) }

type addrOption string

func (o addrOption) apply(s *settings) { s.Addr, s.addrFrom = string(o), o.String() }
func (o addrOption) String() string    { return fmt.Sprintf("gateway.Addr(%q)", string(o)) }

// HeaderTimeout bounds reading a request's line and headers, so a client
// that sends them slowly is dropped; 10s unless given.
func HeaderTimeout(d time.Duration) Option { return headerTimeoutOption(d) }

type headerTimeoutOption time.Duration

func (o headerTimeoutOption) apply(s *settings) { s.HeaderTimeout = time.Duration(o) }
func (o headerTimeoutOption) String() string {
	return fmt.Sprintf("gateway.HeaderTimeout(%v)", time.Duration(o))
}

// BodyTimeout bounds reading a request's body, from the end of its
// headers; 1m unless given. A body that does not arrive in time fails the
// request with 408.
func BodyTimeout(d time.Duration) Option { return bodyTimeoutOption(d) }

type bodyTimeoutOption time.Duration

func (o bodyTimeoutOption) apply(s *settings) { s.BodyTimeout = time.Duration(o) }
func (o bodyTimeoutOption) String() string {
	return fmt.Sprintf("gateway.BodyTimeout(%v)", time.Duration(o))
}

// IdleTimeout bounds how long a kept-alive connection waits for its next
// request; 2m unless given.
func IdleTimeout(d time.Duration) Option { return idleTimeoutOption(d) }

type idleTimeoutOption time.Duration

func (o idleTimeoutOption) apply(s *settings) { s.IdleTimeout = time.Duration(o) }
func (o idleTimeoutOption) String() string {
	return fmt.Sprintf("gateway.IdleTimeout(%v)", time.Duration(o))
}

// DrainTimeout bounds how long the gateway waits, when the app stops, for
// the requests under way (streams and websockets included) before it cuts
// them; 5s unless given. It is spent out of the app's stop timeout.
func DrainTimeout(d time.Duration) Option { return drainTimeoutOption(d) }

type drainTimeoutOption time.Duration

func (o drainTimeoutOption) apply(s *settings) { s.DrainTimeout = time.Duration(o) }
func (o drainTimeoutOption) String() string {
	return fmt.Sprintf("gateway.DrainTimeout(%v)", time.Duration(o))
}

// MaxBodyBytes sets the largest request body the gateway passes on, 10 MiB
// unless given; a larger one gets 413.
func MaxBodyBytes(n int64) Option { return maxBodyOption(n) }

type maxBodyOption int64

func (o maxBodyOption) apply(s *settings) { s.MaxBodyBytes = int64(o) }
func (o maxBodyOption) String() string    { return fmt.Sprintf("gateway.MaxBodyBytes(%d)", int64(o)) }

// MaxHeaderBytes sets the most a request's line and headers may take,
// 64 KiB unless given; more gets 431.
func MaxHeaderBytes(n int) Option { return maxHeaderOption(n) }

type maxHeaderOption int

func (o maxHeaderOption) apply(s *settings) { s.MaxHeaderBytes = int(o) }
func (o maxHeaderOption) String() string    { return fmt.Sprintf("gateway.MaxHeaderBytes(%d)", int(o)) }

// BufferBytes sets the largest response the gateway holds whole before it
// answers, 64 KiB unless given: a response of at most n bytes whose
// service dies before it is complete becomes a clean 503 with
// Retry-After, never a cut connection. Larger responses, and streams,
// pass through as they come. 0 passes every response through.
func BufferBytes(n int64) Option { return bufferOption(n) }

type bufferOption int64

func (o bufferOption) apply(s *settings) { s.BufferBytes = int64(o) }
func (o bufferOption) String() string    { return fmt.Sprintf("gateway.BufferBytes(%d)", int64(o)) }
