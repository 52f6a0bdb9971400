// Package hookorder checks that a module's fx hook comes after the hook of
// every service, so that its OnStart runs once all services have started
// and its OnStop runs before any service stops.
//
// fx runs OnStop hooks in the reverse of the order they were appended,
// and appends a service's hook when it builds the service; the ops and
// systemd modules need the last hook to say "ready" and to say "stopping"
// first. This package only compares the services listed before and after
// the hook was appended; it must not append, wrap or reorder hooks.
package hookorder
