package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
	"github.com/hostfx/hostfx/modules/config"
)

// poller is one constructor that runs under many names.
type poller struct {
	id       app.Identity
	log      *zap.Logger
	settings pollerSettings
}

// pollerSettings are a poller's own settings, from its section.
type pollerSettings struct {
	Interval time.Duration `config:"interval" default:"1m" validate:"gt=0"`
	Target   string        `config:"target"`
}

func newPoller(id app.Identity, log *zap.Logger) (*poller, error) {
	p := &poller{id: id, log: log}
	return p, id.Config(&p.settings)
}

func (p *poller) Run(ctx context.Context) error {
	p.log.Info("polling", zap.String("identity", p.id.Name))
	<-ctx.Done()
	return nil
}

// Two registrations of one constructor, each with a section of its own,
// run side by side: two instances, two identities, two settings, and log
// lines that name each.
func TestOneConstructorUnderTwoNames(t *testing.T) {
	cfg, err := config.New(config.Args([]string{
		"--services.fast.stop_timeout=2s",
		"--services.fast.config.interval=10ms",
		"--services.fast.config.target=cache",
		"--services.slow.stop_timeout=7s",
	}))
	require.NoError(t, err)
	core, logs := observer.New(zapcore.InfoLevel)
	rec := newRecorder()
	var fast, slow *poller
	a := app.New(fx.NopLogger, app.Logger(zap.New(core)), rec.option(), config.Supply(cfg),
		app.Service("fast", newPoller, modes.SeparateThread),
		app.Service("slow", newPoller, modes.SeparateThread),
		fx.Populate(fx.Annotate(&fast, fx.ParamTags(`name:"fast"`))),
		fx.Populate(fx.Annotate(&slow, fx.ParamTags(`name:"slow"`))),
	)
	require.NoError(t, a.Err())
	require.NoError(t, a.Start(t.Context()))
	defer func() { require.NoError(t, a.Stop(context.Background())) }()

	require.NotSame(t, fast, slow)
	assert.Equal(t, "fast", fast.id.Name)
	assert.Equal(t, "slow", slow.id.Name)
	assert.Equal(t, pollerSettings{Interval: 10 * time.Millisecond, Target: "cache"}, fast.settings, "its own section")
	assert.Equal(t, pollerSettings{Interval: time.Minute}, slow.settings, "defaults where its section says nothing")
	assert.Equal(t, 2*time.Second, waitFor[*lifecycle.Starting](t, rec, "fast").Settings.StopTimeout)
	assert.Equal(t, 7*time.Second, waitFor[*lifecycle.Starting](t, rec, "slow").Settings.StopTimeout)
	require.Eventually(t, func() bool { return logs.FilterMessage("polling").Len() == 2 }, time.Minute, time.Millisecond)
	for _, e := range logs.FilterMessage("polling").All() {
		fields := e.ContextMap()
		assert.Equal(t, fields["identity"], fields["service"], "each service's logger names it")
	}
}

// A constructor may have any shape fx accepts.
type (
	annotatedDep struct{ v string }
	outService   struct{ dep string }
	sideValue    struct{}
)

func (*outService) Run(ctx context.Context) error { <-ctx.Done(); return nil }

type outResult struct {
	fx.Out
	Service *outService
	Side    *sideValue
}

type inParams struct {
	fx.In
	Dep *annotatedDep `name:"special"`
}

func TestConstructorShapes(t *testing.T) {
	dep := fx.Provide(fx.Annotate(func() *annotatedDep { return &annotatedDep{"special"} }, fx.ResultTags(`name:"special"`)))
	tests := []struct {
		name string
		ctor any
	}{
		{"fx.Annotate", fx.Annotate(func(d *annotatedDep) (*outService, error) { return &outService{d.v}, nil },
			fx.ParamTags(`name:"special"`))},
		{"fx.In and fx.Out", func(p inParams) outResult { return outResult{Service: &outService{p.Dep.v}, Side: &sideValue{}} }},
		{"two results and an error", func(p inParams) (*sideValue, *outService, error) {
			return &sideValue{}, &outService{p.Dep.v}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *outService
			a := newApp(t, dep, app.Service("svc", tt.ctor, modes.SeparateThread),
				fx.Populate(fx.Annotate(&got, fx.ParamTags(`name:"svc"`))))
			require.NoError(t, a.Start(t.Context()))
			require.NoError(t, a.Stop(t.Context()))
			assert.Equal(t, "special", got.dep)
		})
	}
}

// A service is reached by its name, and by its type where only one
// registration has it; two of one type leave the type to no one.
func TestReachByNameAndType(t *testing.T) {
	var byType, byName *node[[1]byte]
	a := newApp(t,
		app.Service("only", leaf[[1]byte], modes.SeparateThread),
		fx.Populate(&byType, fx.Annotate(&byName, fx.ParamTags(`name:"only"`))),
	)
	require.NoError(t, a.Start(t.Context()))
	require.NoError(t, a.Stop(t.Context()))
	assert.Same(t, byType, byName)

	a = app.New(quiet(), fx.NopLogger,
		app.Service("one", leaf[[1]byte], modes.SeparateThread),
		app.Service("two", leaf[[1]byte], modes.SeparateThread),
		fx.Populate(&byType),
	)
	require.Error(t, a.Err())
	assert.Contains(t, a.Err().Error(), "missing type: *app_test.node[[1]uint8]")
}

// A dependency on a service orders the start and the stop, by name as by
// type.
func TestDependencyByNameOrdersStartAndStop(t *testing.T) {
	rec := newRecorder()
	a := newApp(t, rec.option(),
		app.Service("caller", fx.Annotate(child[[2]byte, [1]byte], fx.ParamTags(`name:"callee"`)), modes.SeparateThread),
		app.Service("callee", leaf[[1]byte], modes.MainEventLoopAsync),
	)
	require.NoError(t, a.Start(t.Context()))
	require.NoError(t, a.Stop(t.Context()))
	assert.Equal(t, []string{"callee", "caller"}, names(rec, succeeded))
	assert.Equal(t, []string{"caller", "callee"}, names[*lifecycle.Stopped](rec, nil))
}

// A constructor that fails names the service and the constructor.
func TestConstructionErrorsNameTheService(t *testing.T) {
	type missing struct{}
	failing := func() (*node[[1]byte], error) { return nil, errors.New("no database") }
	a := app.New(quiet(), fx.NopLogger, app.Service("db", failing, modes.SeparateThread))
	require.Error(t, a.Err())
	var be *app.BuildError
	require.ErrorAs(t, a.Err(), &be)
	assert.Equal(t, "db", be.Service)
	assert.Contains(t, a.Err().Error(), `service "db" (SEPARATE_THREAD) at identity_test.go:`)
	assert.Contains(t, a.Err().Error(), "identity_test.go")
	assert.Contains(t, a.Err().Error(), ": no database")
	assert.NotContains(t, a.Err().Error(), "reflect")

	a = app.New(quiet(), fx.NopLogger, app.Service("db", func(*missing) *node[[1]byte] { return nil }, modes.SeparateThread))
	require.Error(t, a.Err())
	assert.Contains(t, a.Err().Error(), `service "db"`)
	assert.Contains(t, a.Err().Error(), "identity_test.go")
	assert.Contains(t, a.Err().Error(), "missing type: *app_test.missing")
	assert.NotContains(t, a.Err().Error(), "reflect")
}

// A service's constructor that panics fails the app's build with an error
// that names the service; it does not crash the program.
func TestConstructorPanicNamesTheService(t *testing.T) {
	panicking := func() *node[[1]byte] { panic("no config") }
	a := app.New(quiet(), fx.NopLogger, app.Service("db", panicking, modes.SeparateThread))
	var be *app.BuildError
	require.ErrorAs(t, a.Err(), &be)
	assert.Equal(t, "db", be.Service)
	assert.Contains(t, a.Err().Error(), `service "db" (SEPARATE_THREAD) at identity_test.go:`)
	assert.Contains(t, a.Err().Error(), "panicked: no config")
	assert.Error(t, a.Start(t.Context()))
}

// A service's own settings are checked as any binding is: a bad value or
// an unknown key fails the build, naming the service, the key and where
// the value came from; without a configuration the settings keep their
// values.
func TestServiceSettingsAreChecked(t *testing.T) {
	cfg, err := config.New(config.Args([]string{
		"--services.fast.config.interval=-1s",
		"--services.fast.config.tagret=cache",
	}))
	require.NoError(t, err)
	a := app.New(fx.NopLogger, quiet(), config.Supply(cfg), app.Service("fast", newPoller, modes.SeparateThread))
	err = a.Err()
	require.Error(t, err)
	for _, want := range []string{`service "fast"`, "services.fast.config.interval", "-1s", "services.fast.config.tagret", `did you mean "target"`} {
		assert.ErrorContains(t, err, want)
	}

	var got *poller
	a = newApp(t, app.Service("fast", newPoller, modes.SeparateThread), fx.Populate(fx.Annotate(&got, fx.ParamTags(`name:"fast"`))))
	require.NoError(t, a.Err())
	assert.Equal(t, pollerSettings{}, got.settings, "no configuration: nothing is decoded")
}
