//go:build race

package gateway_test

// loadRequests is how many requests TestLoadWhileBackendsDie sends under
// the race detector, which slows the gateway and every child about tenfold:
// a fifth of the acceptance load, which a run without -race sends whole.
const loadRequests = 10_000
