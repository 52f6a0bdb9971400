// Package signs carries a running service's signs to its supervisor: that
// it is ready, and that it is alive, through the context its entry point
// receives. Executors put the signals in the context; lifecycle.Ready and
// lifecycle.Alive, which services call, fire them.
//
// It owns only the context keys: it must not decide what a sign means.
package signs
