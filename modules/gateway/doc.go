// Package gateway puts one HTTP address in front of a hostfx app's
// services: a reverse proxy that sends each request, by its path and
// perhaps its host, to the service whose route covers it, wherever that
// service listens: on a TCP port, on a unix socket (as a process-mode
// service's child may), or as an http.Handler in the app's own process.
//
//	app.New(
//		app.Service("api", NewAPI, modes.SeparateThread),
//		app.Service("worker", NewWorker, modes.SeparateProcess, lifecycle.Replicas(3)),
//		gateway.Module( // after the services
//			gateway.Addr(":8080"),
//			gateway.Route("/api/", "api", gateway.Handler(func(api *API) http.Handler { return api })),
//			gateway.Route("/work/", "worker", gateway.Unix("/run/app/worker-{replica}.sock")),
//		),
//	).Run()
//
// # Routes
//
// A route covers its path and every path below it; of the routes that
// cover a request, one with the request's host wins over those without,
// and then the longest path wins. Only routes are reachable: a request for
// another path gets 404, one with a full URL ("GET http://...") or
// "OPTIONS *" gets 400, CONNECT gets 405, and a path with "." or ".."
// segments gets 400, so the gateway is never an open proxy. The gateway
// drops the hop-by-hop headers and the X-Forwarded-* and Forwarded headers
// that come with a request, and sets X-Forwarded-For, -Host and -Proto
// itself; the Host header goes on as it came.
//
// A route names its service as it was registered. With replicas, it sends
// each request to the running replica with the fewest requests under way,
// taking turns among equals; "{replica}" in the target's address stands for
// each one's number, as app.Identity.Replica has it.
//
// # Services that do not run
//
// While no replica of a route's service runs, because it starts, waits to
// restart, or has just crashed, the gateway answers 503 with Retry-After:
// the seconds left of the restart's delay (from the lifecycle.Restarting
// event), or 1. A service that failed for good or exited gets 503 without
// Retry-After. A service that runs but does not answer gets 503 too, with
// a warning in the log; a GET, HEAD or OPTIONS without a body that could
// not be connected to its replica goes to another running one first, once.
//
// # Responses
//
// A response of at most BufferBytes (64 KiB) with a Content-Length is read
// whole before anything of it goes to the client, so a service that dies
// mid-response costs the client a clean 503 with Retry-After rather than a
// cut connection; a chunked one is held whole when it ends with its first
// read. Larger responses and streams pass through as they come, as does
// everything with BufferBytes(0): one of them that breaks off cuts the
// client's connection, as nothing else tells the client it is incomplete.
// Holding costs memory (up to BufferBytes a request under way) and the
// time to the first byte of a slow small response.
//
// # Limits
//
// Every limit has a default and an Option, and a key in the configuration:
// the request's headers must arrive within HeaderTimeout (10s) and take at
// most MaxHeaderBytes (64 KiB, else 431), its body within BodyTimeout (1m,
// else 408) and at most MaxBodyBytes (10 MiB, else 413); a kept-alive
// connection waits IdleTimeout (2m) for its next request. Responses are not
// timed: a streaming response goes to the client as the service flushes it,
// and an upgrade (websockets) becomes a connection between the two.
//
// # Stopping
//
// The gateway listens before the services start, answering 503 until they
// run. When the app stops, it stops taking connections before any service
// stops, and waits up to DrainTimeout (5s) for the requests under way,
// streams and websockets included; then it cuts those left, and the
// services stop. That is why Module must come after every app.Service at
// the top level of the app's options; start fails, naming the services,
// when it does not. With ops.Module, pass gateway.Module before it: the
// readiness probe then fails, for the ops shutdown delay, before the
// gateway stops taking requests.
//
// # Metrics
//
// With client_golang, in the program's prometheus.Registerer when the graph
// has one (ops.Module then serves them at /metrics with its own):
//
//	hostfx_gateway_requests_total{route,service,code_class}     requests answered, code_class 1xx to 5xx
//	hostfx_gateway_request_duration_seconds{route}              histogram, until the response ended
//	hostfx_gateway_upstream_errors_total{service,kind}          kind connect, response or body
//	hostfx_gateway_unavailable_responses_total{route,retry_after}  the gateway's own 503s
//	hostfx_gateway_retries_total{route}                         requests sent to a second replica
//
// route is the route's pattern and service the replica that answered (the
// route's service when none did); both are empty for a request no route
// covers. Without a Registerer in the graph, the ops module's own registry
// takes them when the app has the ops module; otherwise nothing exposes them.
//
// # Configuration
//
// Options configure the module in code; with the configuration module,
// config.Provide[gateway.Settings]("gateway") binds the "gateway" section,
// whose keys win over code, and whose routes replace the code's routes of
// the same pattern. The gateway listens on DefaultAddr, on 127.0.0.1,
// unless an address is given.
//
// # Logging
//
// The gateway logs where it listens, its drain, the requests it cuts and a
// running service that does not answer, to the program's *zap.Logger when
// the graph has one, and to the app's own logger (Supervisor.Logger)
// otherwise.
package gateway
