package loop

// The loop's tasks: what a post, a timer or a request to change loop-owned
// state puts in the queue, and the queue itself, a list of fixed-size
// chunks that the loop takes whole and gives back for reuse, so a post
// allocates nothing in the steady state.

// taskKind says what the loop does with a taskEntry. Only taskCall and
// taskAwaited come from users; the others let any goroutine change
// loop-owned state.
type taskKind uint8

const (
	taskCall       taskKind = iota // run fn for scope
	taskAwaited                    // run fn for scope, for a poster that looks for its answer (see PostAwaited)
	taskFire                       // run a due timer
	taskSchedule                   // put timer into the heap
	taskUnschedule                 // take timer out of the heap
	taskClose                      // confirm that scope has closed
)

// taskEntry is one unit of work in the queue, kept small so the queue is
// cheap to fill and to clear.
type taskEntry struct {
	fn    func()
	scope *View
	timer *Timer
	kind  taskKind
}

// userFunc is the callback a task runs on behalf of its service.
func (t *taskEntry) userFunc() func() {
	if t.kind == taskFire {
		return t.timer.fn
	}
	return t.fn
}

// chunkTasks fills a 4 KiB allocation with a taskChunk.
const chunkTasks = 127

// maxFreeChunks bounds what an idle queue keeps to about 256 KiB. While
// busy it keeps all its chunks, so a flood of posts allocates nothing once
// the queue has grown to it.
const maxFreeChunks = 64

// taskChunk is a block of the queue.
type taskChunk struct {
	tasks [chunkTasks]taskEntry
	n     int
	next  *taskChunk
}

// taskQueue is a chain of fixed-size chunks, so a burst of posts never
// copies what is already queued, with a free list, so steady posting
// allocates nothing; the loop trims the free list when it goes idle, so a
// burst's memory goes back to the heap.
type taskQueue struct {
	head, tail *taskChunk
	free       *taskChunk
	nfree      int
}

// push appends t and reports whether the queue was empty.
func (q *taskQueue) push(t taskEntry) (wasEmpty bool) {
	c := q.tail
	if c == nil || c.n == chunkTasks {
		c = q.newChunk()
		if q.tail == nil {
			q.head = c
		} else {
			q.tail.next = c
		}
		q.tail = c
	}
	c.tasks[c.n] = t
	c.n++
	return q.head == c && c.n == 1
}

func (q *taskQueue) newChunk() *taskChunk {
	c := q.free
	if c == nil {
		return new(taskChunk)
	}
	q.free, c.next = c.next, nil
	q.nfree--
	return c
}

// takeAll empties the queue and returns its chunks.
func (q *taskQueue) takeAll() *taskChunk {
	head := q.head
	q.head, q.tail = nil, nil
	return head
}

// giveBack keeps the emptied chunks from first to last, n of them, for
// reuse.
func (q *taskQueue) giveBack(first, last *taskChunk, n int) {
	if first == nil {
		return
	}
	last.next = q.free
	q.free = first
	q.nfree += n
}

// trim lets go of the free chunks beyond maxFreeChunks.
func (q *taskQueue) trim() {
	if q.nfree <= maxFreeChunks {
		return
	}
	last := q.free
	for range maxFreeChunks - 1 {
		last = last.next
	}
	last.next = nil
	q.nfree = maxFreeChunks
}
