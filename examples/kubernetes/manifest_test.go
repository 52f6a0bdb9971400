package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/hostfx/hostfx/app"
	"github.com/hostfx/hostfx/lifecycle"
	"github.com/hostfx/hostfx/modules/ops"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// childGrace is what the app gives a process-mode child that overran its
// stop timeout: told to end at once, then SIGKILL to its group, at most
// 5 s in all.
const childGrace = 5 * time.Second

// patience bounds every wait of these tests.
const patience = time.Minute

// deployment decodes deployment.yaml strictly: a field Kubernetes does not
// know, or one given twice, is an error.
func deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	data, err := os.ReadFile("deployment.yaml")
	require.NoError(t, err)
	var d appsv1.Deployment
	require.NoError(t, yaml.UnmarshalStrict(data, &d))
	return &d
}

// container returns the app's container.
func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d.Spec.Template.Spec.Containers[0]
}

func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	var d appsv1.Deployment
	err := yaml.UnmarshalStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 3\n"), &d)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown field "replica"`)
}

func TestDeployment(t *testing.T) {
	d := deployment(t)
	assert.Equal(t, "apps/v1", d.APIVersion)
	assert.Equal(t, "Deployment", d.Kind)
	require.NotNil(t, d.Spec.Replicas)
	assert.GreaterOrEqual(t, *d.Spec.Replicas, int32(2), "more than one pod, so one can stop while the others serve")
	assert.Equal(t, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels, "the selector matches the pods")

	c := container(t, d)
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	require.Contains(t, ports, "ops")
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	assert.Equal(t, ":8181", env["APP_OPS__ADDR"], "the ops endpoints listen on every address of the pod")
	assert.Equal(t, int32(8181), ports["ops"], "on the port the probes use")

	for name, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		require.NotNil(t, probe, name)
		require.NotNil(t, probe.HTTPGet, name)
		assert.Equal(t, "ops", probe.HTTPGet.Port.String(), "%s probe port", name)
		assert.Greater(t, time.Duration(probe.TimeoutSeconds)*time.Second, ops.DefaultCheckTimeout,
			"%s probe: the kubelet waits longer than a check may take", name)
	}
	assert.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)

	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	require.NotNil(t, grace)
	assert.Greater(t, time.Duration(*grace)*time.Second, stopBudget, "SIGKILL comes only after the app's whole stop")
}

// manifestEnv sets the container's environment, as the kubelet would,
// with the listening addresses on 127.0.0.1 and free ports.
func manifestEnv(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	for _, e := range container(t, d).Env {
		t.Setenv(e.Name, e.Value)
	}
	t.Setenv("APP_API__ADDR", "127.0.0.1:0")
	t.Setenv("APP_OPS__ADDR", "127.0.0.1:0")
}

// The app, run with the manifest's environment, fits its whole stop in
// stopBudget, and answers the manifest's probes.
func TestTheAppFitsTheManifest(t *testing.T) {
	d := deployment(t)
	manifestEnv(t, d)
	starting := make(chan *lifecycle.Starting, 16)
	var srv *ops.Server
	var settings *ops.Settings
	a := app.New(append(options(),
		app.Test(t),
		fx.NopLogger,
		fx.Decorate(func(*zap.Logger) *zap.Logger { return zap.NewNop() }),
		app.Observe(func(e lifecycle.Event) {
			if s, ok := e.(*lifecycle.Starting); ok {
				starting <- s
			}
		}),
		fx.Populate(&srv, &settings),
	)...)
	require.NoError(t, a.Err())
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	require.NoError(t, a.Start(ctx))
	defer func() { require.NoError(t, a.Stop(ctx)) }()

	stop := settings.ShutdownDelay
	for range a.Status() {
		s := <-starting
		stop += s.Settings.StopTimeout
		if s.Mode.Process() {
			stop += childGrace
		}
	}
	assert.Equal(t, 5*time.Second, settings.ShutdownDelay, "the manifest sets it")
	assert.LessOrEqual(t, stop, stopBudget, "the app's stop timeout holds the shutdown delay and every service's stop")

	c := container(t, d)
	for _, path := range []string{c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path} {
		code, body := get(t, srv.Addr(), path)
		assert.Equal(t, http.StatusOK, code, "%s: %s", path, body)
	}
	code, body := get(t, srv.Addr(), "/metrics")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `hostfx_service_state{service="worker",state="running"} 1`)
}

func get(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// docs/deploy-kubernetes.md quotes the manifest and the app's options as
// they are here.
func TestTheDocQuotesTheExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/deploy-kubernetes.md")
	require.NoError(t, err)
	manifest, err := os.ReadFile("deployment.yaml")
	require.NoError(t, err)
	_, body, ok := strings.Cut(string(manifest), "apiVersion:")
	require.True(t, ok)
	assert.Contains(t, string(doc), "```yaml\napiVersion:"+body+"```", "the manifest")
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	start := strings.Index(string(src), "func options() []fx.Option {")
	require.GreaterOrEqual(t, start, 0)
	end := strings.Index(string(src)[start:], "\n}\n")
	assert.Contains(t, string(doc), string(src)[start:start+end+3], "the app's options")
}
