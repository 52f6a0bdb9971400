// Command goplugin-peer measures hashicorp/go-plugin for hostfx-bench, which
// builds and runs it. It is its own binary, as go-plugin plugins are, so
// that go-plugin's weight (gRPC and protobuf are linked in, and initialised
// at every start) stays out of the binary whose children hostfx-bench
// measures, and hostfx is not flattered by a slow-starting baseline.
//
// It prints one JSON object: the medians of a start (NewClient, Client,
// Dispense and a first call), of a bare exec of this binary until it writes
// a byte on fd 3 (the floor under any start of it), of one net/rpc call,
// and the plugin's VmRSS. Run with the plugin's magic cookie set, it is the
// plugin; with rawEnv set, the bare exec.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/rpc"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/hostfx/hostfx/bench/internal/harness"
	"github.com/hostfx/hostfx/bench/internal/procfs"
)

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "HOSTFX_BENCH_PLUGIN",
	MagicCookieValue: "echo",
}

// Results is what the peer prints.
type Results struct {
	Start  harness.Result // Aux is the Kill after it
	Raw    harness.Result // the bare exec
	Call   harness.Result
	RSSKiB int64
}

// rawEnv makes this binary write one byte on fd 3 and exit.
const rawEnv = "HOSTFX_BENCH_PEER_RAW"

var verbose = os.Getenv("HOSTFX_BENCH_VERBOSE") != ""

func main() {
	if os.Getenv(rawEnv) != "" {
		if _, err := os.NewFile(3, "ready").Write([]byte{1}); err != nil {
			os.Exit(2)
		}
		return
	}
	if os.Getenv(handshake.MagicCookieKey) == handshake.MagicCookieValue {
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: handshake,
			Plugins:         plugin.PluginSet{"echo": echoPlugin{}},
			Logger:          logger(),
		})
		return
	}
	var slow, fast harness.Plan
	flag.IntVar(&slow.Samples, "slow-samples", 9, "samples of the start")
	flag.DurationVar(&slow.Target, "slow-target", 300*time.Millisecond, "duration of one sample of the start")
	flag.IntVar(&slow.MaxN, "slow-max", 1000, "most starts in a sample")
	flag.IntVar(&fast.Samples, "fast-samples", 9, "samples of the call")
	flag.DurationVar(&fast.Target, "fast-target", 100*time.Millisecond, "duration of one sample of the call")
	flag.IntVar(&fast.MaxN, "fast-max", 1<<24, "most calls in a sample")
	rssSamples := flag.Int("rss-samples", 3, "plugins whose memory is read")
	flag.Parse()

	res, err := measure(slow, fast, *rssSamples)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "goplugin-peer:", err)
		os.Exit(1)
	}
}

func measure(slow, fast harness.Plan, rssSamples int) (Results, error) {
	var res Results
	rs, err := harness.Measure(slow, func(n int) (took, kill time.Duration, err error) {
		for range n {
			// go-plugin's start, timed to the end of the first call
			begin := time.Now()
			c, _, err := start()
			if err != nil {
				return 0, 0, err
			}
			ready := time.Now()
			c.Kill()
			took += ready.Sub(begin)
			kill += time.Since(ready)
		}
		return took, kill, nil
	}, rawStarts)
	if err != nil {
		return res, fmt.Errorf("start: %w", err)
	}
	res.Start, res.Raw = rs[0], rs[1]

	c, e, err := start()
	if err != nil {
		return res, err
	}
	rs, err = harness.Measure(fast, func(n int) (time.Duration, time.Duration, error) {
		begin := time.Now()
		for range n {
			if err := e.echo(1); err != nil {
				return 0, 0, err
			}
		}
		return time.Since(begin), 0, nil
	})
	c.Kill()
	if err != nil {
		return res, fmt.Errorf("call: %w", err)
	}
	res.Call = rs[0]

	var rss []int64
	for range rssSamples {
		c, _, err := start()
		if err != nil {
			return res, err
		}
		time.Sleep(200 * time.Millisecond) // as hostfx-bench lets its children settle
		kb, err := procfs.Status(c.ReattachConfig().Pid, "VmRSS")
		c.Kill()
		if err != nil {
			return res, err
		}
		rss = append(rss, kb)
	}
	res.RSSKiB = harness.Median(rss)
	return res, nil
}

// rawStarts execs this binary n times, each until it writes its byte.
func rawStarts(n int) (took, _ time.Duration, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	for range n {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, 0, err
		}
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), rawEnv+"=1")
		cmd.ExtraFiles = []*os.File{w}
		begin := time.Now()
		err = cmd.Start()
		_ = w.Close() // the child has its own copy
		if err == nil {
			_, err = io.ReadFull(r, make([]byte, 1))
			took += time.Since(begin)
			err = errors.Join(err, cmd.Wait())
		}
		_ = r.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("bare exec: %w", err)
		}
	}
	return took, 0, nil
}

func logger() hclog.Logger {
	if verbose {
		return nil // go-plugin's default: everything, to stderr
	}
	return hclog.NewNullLogger()
}

// start starts the plugin, dispenses it and makes the first call.
func start() (*plugin.Client, *echoClient, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: handshake,
		Plugins:         plugin.PluginSet{"echo": echoPlugin{}},
		Cmd:             exec.Command(self),
		Logger:          logger(),
	})
	proto, err := c.Client()
	if err != nil {
		c.Kill()
		return nil, nil, err
	}
	raw, err := proto.Dispense("echo")
	if err != nil {
		c.Kill()
		return nil, nil, err
	}
	e := raw.(*echoClient)
	if err := e.echo(1); err != nil {
		c.Kill()
		return nil, nil, err
	}
	return c, e, nil
}

type echoPlugin struct{}

func (echoPlugin) Server(*plugin.MuxBroker) (any, error) { return &EchoRPC{}, nil }

func (echoPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (any, error) {
	return &echoClient{c}, nil
}

// EchoRPC is the plugin's net/rpc server.
type EchoRPC struct{}

// Echo returns its argument.
func (*EchoRPC) Echo(in byte, out *byte) error {
	*out = in
	return nil
}

type echoClient struct{ rpc *rpc.Client }

func (c *echoClient) echo(b byte) error {
	var out byte
	return c.rpc.Call("Plugin.Echo", b, &out)
}
