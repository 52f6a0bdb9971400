package app

// Identity is who a service is. Its constructor may take it as a
// parameter, like any other dependency, to tell apart the registrations of
// one constructor under different names.
type Identity struct {
	// Name is the name the service was registered under.
	Name string
	// Replica numbers the replicas of a service registered with
	// lifecycle.Replicas, from 1; it is 0 for a service without replicas.
	Replica int
	// Service is the name the service runs under: Name, or with replicas
	// Name#Replica, as in its events, Status and log lines.
	Service string
}
