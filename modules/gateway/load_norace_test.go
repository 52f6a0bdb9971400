//go:build !race

package gateway_test

// loadRequests is how many requests TestLoadWhileBackendsDie sends: the
// whole acceptance load.
const loadRequests = 50_000
