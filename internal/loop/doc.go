// Package loop is the event loop engine behind the *_ASYNC modes: an
// Engine runs callbacks one at a time on the goroutine that calls Run,
// and each service sees it through a View, which is what package modes
// shows services as a modes.Loop. It owns the task queue, the timers,
// the stall watchdog and the views' lifetimes.
//
// It must not know about services' supervision or about processes:
// executors run engines on the threads they choose and watch the views.
package loop
