package systemd

import (
	"context"
	"sync"

	"github.com/jonboulle/clockwork"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/modules/internal/hookorder"
	"github.com/hostfx/hostfx/modules/internal/liveness"
)

// Module notifies systemd of the app's readiness, its stop and its
// liveness. Pass it after every app.Service, at the top level of app.New
// or app.Module.
func Module() fx.Option {
	return fx.Invoke(func(p params) error {
		if _, child := app.InChild(); child {
			return nil // the parent speaks for the app
		}
		u, err := takeEnv()
		if err != nil || u.socket == "" {
			return err
		}
		log := p.Logger
		if log == nil {
			log = p.Supervisor.Logger()
		}
		n := newNotifier(u, liveness.New(p.Supervisor.Status).WithPing(p.Supervisor.Ping), clockwork.NewRealClock(), log)
		last := hookorder.Mark("systemd.Module", p.Supervisor.Status)
		p.Lifecycle.Append(fx.Hook{
			OnStart: func(context.Context) error {
				if err := last.Check(); err != nil {
					return err
				}
				return n.ready()
			},
			OnStop: func(context.Context) error { return n.stopping() },
		})
		return nil
	})
}

type params struct {
	fx.In

	Supervisor *app.Supervisor
	Lifecycle  fx.Lifecycle
	Logger     *zap.Logger `optional:"true"`
}

// notifier sends the app's messages to systemd and runs the watchdog.
type notifier struct {
	unit  unit
	live  *liveness.Probe
	clock clockwork.Clock
	log   *zap.Logger

	mu   sync.Mutex
	end  context.CancelFunc // ends the watchdog
	done chan struct{}      // closed when it has ended
}

func newNotifier(u unit, live *liveness.Probe, clock clockwork.Clock, log *zap.Logger) *notifier {
	if log == nil {
		log = zap.NewNop()
	}
	return &notifier{unit: u, live: live, clock: clock, log: log}
}

// ready says READY=1 and starts the watchdog, if the unit has one.
func (n *notifier) ready() error {
	if err := notify(n.unit.socket, messageReady); err != nil {
		return err
	}
	if n.unit.watchdog <= 0 {
		return nil
	}
	ctx, end := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.mu.Lock()
	n.end, n.done = end, done
	n.mu.Unlock()
	ticker := n.clock.NewTicker(n.unit.watchdog / 2)
	go func() {
		defer close(done)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.Chan():
				n.ping(ctx)
			}
		}
	}()
	return nil
}

// ping says WATCHDOG=1 if the supervisor answers within half the time
// between pings.
func (n *notifier) ping(running context.Context) {
	ctx, cancel := clockwork.WithTimeout(running, n.clock, n.unit.watchdog/4)
	defer cancel()
	if _, err := n.live.Status(ctx); err != nil {
		if running.Err() != nil {
			return // the app is stopping
		}
		n.log.Error("systemd watchdog: no ping: the supervisor did not answer", zap.Error(err))
		return
	}
	if err := notify(n.unit.socket, messageWatchdog); err != nil {
		n.log.Error("systemd watchdog", zap.Error(err))
	}
}

// stopping ends the watchdog and says STOPPING=1.
func (n *notifier) stopping() error {
	n.mu.Lock()
	end, done := n.end, n.done
	n.end, n.done = nil, nil
	n.mu.Unlock()
	if end != nil {
		end()
		<-done
	}
	return notify(n.unit.socket, messageStopping)
}
