package app

// Identity is who a service is. Its constructor may take it as a
// parameter, like any other dependency, to tell apart the registrations of
// one constructor under different names.
type Identity struct {
	// Name is the name the service was registered under.
	Name string
}
