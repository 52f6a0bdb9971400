package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hostfx/hostfx/bench/internal/harness"
)

// peerResults mirrors goplugin-peer's output.
type peerResults struct {
	Start  harness.Result
	Raw    harness.Result
	Call   harness.Result
	RSSKiB int64
}

const peerPackage = "github.com/hostfx/hostfx/bench/cmd/goplugin-peer"

// runPeer builds goplugin-peer and runs it with plans like ours.
func runPeer(slow, fast harness.Plan, rssSamples int) (peerResults, error) {
	var res peerResults
	dir, err := os.MkdirTemp("", "hostfx-bench-")
	if err != nil {
		return res, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "goplugin-peer")
	build := exec.Command("go", "build", "-o", bin, peerPackage)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return res, fmt.Errorf("go build %s (run hostfx-bench from the bench module): %w", peerPackage, err)
	}
	peer := exec.Command(bin,
		"-slow-samples", fmt.Sprint(slow.Samples), "-slow-target", slow.Target.String(), "-slow-max", fmt.Sprint(slow.MaxN),
		"-fast-samples", fmt.Sprint(fast.Samples), "-fast-target", fast.Target.String(), "-fast-max", fmt.Sprint(fast.MaxN),
		"-rss-samples", fmt.Sprint(rssSamples))
	// go-plugin's yamux logs a broken pipe at every Kill: show its stderr
	// only when something failed.
	var out, stderr bytes.Buffer
	peer.Stdout, peer.Stderr = &out, &stderr
	if err := peer.Run(); err != nil {
		_, _ = os.Stderr.Write(stderr.Bytes())
		return res, fmt.Errorf("goplugin-peer: %w", err)
	}
	return res, json.Unmarshal(out.Bytes(), &res)
}

// benchGoPlugin compares with go-plugin the figures proc_spawn, proc_rtt
// and child_rss measured for hostfx earlier in the run.
func benchGoPlugin(p harness.Plan, rep *report) error {
	fast := p
	fast.Target /= 3
	fast.MaxN = 1 << 24
	peer, err := runPeer(p, fast, rssSamples(p))
	if err != nil {
		return err
	}
	rep.results["goplugin_start"] = peer.Start // for warm_restart
	spawn, haveSpawn := rep.results["proc_spawn_call"]
	call, haveCall := rep.results["proc_call"]
	x := row{name: "vs_goplugin_spawn", hostfx: "-", baseline: spread(peer.Start), ratio: nan, goal: 0.5}
	if haveSpawn {
		x.hostfx, x.cmp = spread(spawn), compare(spawn, peer.Start)
	} else {
		x.why = "run proc_spawn too"
	}
	rep.add(x)
	// What bounds vs_goplugin_spawn: no start of a process can be quicker
	// than a bare exec of its binary.
	if raw, ok := rep.results["proc_spawn_raw"]; ok {
		rep.add(row{name: "goplugin_spawn_floor", hostfx: spread(raw), baseline: spread(peer.Start), cmp: compare(raw, peer.Start)})
	}
	rep.add(row{name: "goplugin_exec_share", hostfx: spread(peer.Raw), baseline: spread(peer.Start), cmp: compare(peer.Raw, peer.Start)})
	x = row{name: "vs_goplugin_rtt", hostfx: "-", baseline: spread(peer.Call), ratio: nan, goal: 0.5}
	if haveCall {
		x.hostfx, x.cmp = spread(call), compare(call, peer.Call)
	} else {
		x.why = "run proc_rtt too"
	}
	rep.add(x)
	if kb, ok := rep.rss["hostfx"]; ok {
		rep.add(row{name: "child_rss_vs_goplugin", hostfx: kib(kb), baseline: kib(peer.RSSKiB), ratio: float64(kb) / float64(peer.RSSKiB)})
	} else {
		rep.add(row{name: "goplugin_rss", hostfx: "-", baseline: kib(peer.RSSKiB), ratio: nan})
	}
	rep.note("go-plugin: its own binary (cmd/goplugin-peer), measured after hostfx: a start is NewClient+Client+Dispense+one "+
		"net/rpc call; its Kill took %s more. goplugin_spawn_floor is proc_spawn's bare exec of this binary against "+
		"go-plugin's start: the least vs_goplugin_spawn could be for a child that does nothing at all. goplugin_exec_share "+
		"is the bare exec of go-plugin's binary against its start.", dur(peer.Start.Aux))
	return nil
}

func rssSamples(p harness.Plan) int { return max(3, p.Samples/3) }
