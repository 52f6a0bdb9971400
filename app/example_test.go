package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modes"
)

// Store loads its items on an OS thread of its own (SEPARATE_THREAD) and
// holds them until it is stopped.
type Store struct{ items []string }

func NewStore() *Store { return &Store{} }

// Run is the blocking entry point: it returns when ctx is cancelled.
func (s *Store) Run(ctx context.Context) error {
	s.items = []string{"apple", "pear", "plum"}
	fmt.Println("store: loaded")
	lifecycle.Ready(ctx) // registered with WaitForReady: now it counts as started
	<-ctx.Done()
	fmt.Println("store: closed")
	return nil
}

// API serves from the store on the main event loop (MAIN_EVENT_LOOP_ASYNC).
// It takes the store, so it starts after it and stops before it.
type API struct{ store *Store }

func NewAPI(s *Store) *API { return &API{store: s} }

// RunAsync runs on the loop: it schedules work and returns.
func (a *API) RunAsync(_ context.Context, _ modes.Loop) error {
	fmt.Printf("api: serving %d items\n", len(a.store.items))
	return nil
}

// quietly keeps the examples' output to what the services print.
var quietly = fx.Options(app.Logger(zap.NewNop()), fx.NopLogger)

func Example() {
	a := app.New(quietly,
		app.Service("api", NewAPI, modes.MainEventLoopAsync),
		app.Service("store", NewStore, modes.SeparateThread, lifecycle.WaitForReady()),
	)
	// In main, a.Run() does all of this and waits for SIGINT or SIGTERM
	// in between.
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("started")
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("stopped")
	// Output:
	// store: loaded
	// api: serving 3 items
	// started
	// store: closed
	// stopped
}

func ExampleObserve() {
	a := app.New(quietly,
		app.Observe(func(e lifecycle.Event) {
			switch e := e.(type) {
			case *lifecycle.Started:
				fmt.Println("event: started", e.Service, e.Mode)
			case *lifecycle.Stopped:
				fmt.Println("event: stopped", e.Service)
			}
		}),
		app.Service("api", NewAPI, modes.MainEventLoopAsync),
		app.Service("store", NewStore, modes.SeparateThread, lifecycle.WaitForReady()),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// store: loaded
	// event: started store SEPARATE_THREAD
	// api: serving 3 items
	// event: started api MAIN_EVENT_LOOP_ASYNC
	// event: stopped api
	// store: closed
	// event: stopped store
}

// Loader fails at once: its input is missing.
type Loader struct{}

func NewLoader() *Loader { return &Loader{} }

func (*Loader) Run(context.Context) error { return errors.New("no input file") }

func ExampleApp_Status() {
	gaveUp := make(chan struct{})
	a := app.New(quietly,
		app.Observe(func(e lifecycle.Event) {
			if _, ok := e.(*lifecycle.GaveUp); ok {
				close(gaveUp)
			}
		}),
		app.Service("store", NewStore, modes.SeparateThread, lifecycle.WaitForReady()),
		// Never restarted, and its failure does not stop the app.
		app.Service("loader", NewLoader, modes.SeparateThread,
			lifecycle.RestartPolicy(lifecycle.Never), lifecycle.FailAlone()),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	<-gaveUp
	for _, s := range a.Status() {
		fmt.Println(s.Service, s.State, s.LastError)
	}
	if err := a.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// store: loaded
	// store running <nil>
	// loader failed no input file
	// store: closed
}

func ExampleApp_Err() {
	// A registration without a name is rejected when the app is built.
	// Errors name the service, its mode and the file:line of the
	// app.Service call.
	a := app.New(quietly, app.Service("", NewStore, modes.SeparateProcess))
	fmt.Println(errors.Is(a.Err(), app.ErrInvalidService))
	// Output:
	// true
}

// Greeter runs in a child process and answers net/rpc calls there.
type Greeter struct{ rpc *rpc.Server }

// Greetings is Greeter's net/rpc receiver.
type Greetings struct{}

// Hello greets name.
func (Greetings) Hello(name string, reply *string) error {
	*reply = "hello, " + name
	return nil
}

func NewGreeter() (*Greeter, error) {
	s := rpc.NewServer()
	return &Greeter{rpc: s}, s.Register(Greetings{})
}

func (g *Greeter) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// ServeConn takes each connection the app dials, in the child.
func (g *Greeter) ServeConn(conn net.Conn) { g.rpc.ServeConn(conn) }

func ExampleSupervisor_Dial() {
	var sup *app.Supervisor
	a := app.New(quietly,
		// In a test binary a child must re-run only this example; a program
		// needs no such line.
		app.ChildArgs("-test.run=^ExampleSupervisor_Dial$"),
		app.Service("greeter", NewGreeter, modes.SeparateProcess),
		fx.Populate(&sup),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil { // in the child, this runs the greeter
		fmt.Println(err)
		return
	}
	defer func() {
		if err := a.Stop(ctx); err != nil {
			fmt.Println(err)
		}
	}()

	conn, err := sup.Dial(ctx, "greeter")
	if err != nil {
		fmt.Println(err)
		return
	}
	client := rpc.NewClient(conn)
	defer func() {
		if err := client.Close(); err != nil {
			fmt.Println(err)
		}
	}()
	var reply string
	if err := client.Call("Greetings.Hello", "gopher", &reply); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(reply)
	// Output: hello, gopher
}

// Shouter answers calls in a child process of its own.
type Shouter struct{}

func NewShouter() Shouter { return Shouter{} }

func (Shouter) Run(ctx context.Context) error { <-ctx.Done(); return nil }

// HandleCall answers each call the app makes, in the child.
func (Shouter) HandleCall(_ context.Context, request []byte) ([]byte, error) {
	if len(request) == 0 {
		return nil, errors.New("nothing to shout")
	}
	return bytes.ToUpper(request), nil
}

func ExampleSupervisor_Call() {
	var sup *app.Supervisor
	a := app.New(quietly,
		// In a test binary a child must re-run only this example; a program
		// needs no such line.
		app.ChildArgs("-test.run=^ExampleSupervisor_Call$"),
		app.Service("shouter", NewShouter, modes.SeparateProcess),
		fx.Populate(&sup),
	)
	ctx := context.Background()
	if err := a.Start(ctx); err != nil { // in the child, this runs the shouter
		fmt.Println(err)
		return
	}
	defer func() {
		if err := a.Stop(ctx); err != nil {
			fmt.Println(err)
		}
	}()

	response, err := sup.Call(ctx, "shouter", []byte("hello"))
	fmt.Printf("%s %v\n", response, err)

	_, err = sup.Call(ctx, "shouter", nil)
	var callErr *app.CallError
	fmt.Println(errors.As(err, &callErr), err)
	// Output:
	// HELLO <nil>
	// true service "shouter": nothing to shout
}
