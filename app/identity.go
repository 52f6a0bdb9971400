package app

import "fmt"

// Identity is who a service is. Its constructor may take it as a
// parameter, like any other dependency, to tell apart the registrations of
// one constructor under different names, and to read its own settings.
type Identity struct {
	// Name is the name the service was registered under.
	Name string
	// Replica numbers the replicas of a service registered with
	// lifecycle.Replicas, from 1; it is 0 for a service without replicas.
	Replica int
	// Service is the name the service runs under: Name, or with replicas
	// Name#Replica, as in its events, Status and log lines.
	Service string

	config ServiceConfig // the app's configuration; nil without one
}

// Config decodes the service's own settings, the section
// services.<Name>.config of the app's configuration (see
// modules/config), into target, a pointer to a struct: defaults from its
// tags, validation, and every problem at once, naming each key and where
// its value came from. The replicas of a service share their
// registration's section. Without a configuration, target keeps its
// values.
func (id Identity) Config(target any) error {
	if id.config == nil {
		return nil
	}
	if err := id.config.BindService(id.Name, target); err != nil {
		return fmt.Errorf("service %q: %w", id.Service, err)
	}
	return nil
}
