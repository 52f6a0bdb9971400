package ops

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The status page's messages, for the tests outside the package.
type (
	StatusSnapshot = snapshot
	StatusUpdate   = update
	ServiceView    = serviceView
	TimelineEntry  = entry
)

// HeartbeatEvery is how often a stream sends a heartbeat.
const HeartbeatEvery = heartbeatEvery

// ServerEvent is one message of an event stream: an event with its name
// and data, or a line that is no event (a comment, the retry field).
type ServerEvent struct {
	Name, Data string
	Line       string // when it is no event
}

// Decode reads the event's data as JSON into v.
func (e ServerEvent) Decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal([]byte(e.Data), v), "data of %q: %s", e.Name, e.Data)
}

// EventStream reads the server-sent events of a status page.
type EventStream struct {
	r *bufio.Reader
	// Raw holds every byte read so far.
	Raw strings.Builder
}

// OpenEventStream connects to url, checks that it answers with an event
// stream and closes it when the test ends. Every read gives up after
// patience.
func OpenEventStream(t *testing.T, url string, patience time.Duration) *EventStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		_ = resp.Body.Close()
	})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	media, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "text/event-stream", media)
	return &EventStream{r: bufio.NewReader(resp.Body)}
}

// Next returns the next message. It fails the test at the stream's end.
func (s *EventStream) Next(t *testing.T) ServerEvent {
	t.Helper()
	var e ServerEvent
	for {
		line, err := s.r.ReadString('\n')
		s.Raw.WriteString(line)
		require.NoError(t, err, "the stream ended; it had sent:\n%s", s.Raw.String())
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e.Name != "" || e.Line != "" {
				return e
			}
		case strings.HasPrefix(line, "event: "):
			e.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			require.Empty(t, e.Data, "an event with two data lines")
			e.Data = strings.TrimPrefix(line, "data: ")
		default:
			e.Line = line
		}
	}
}

// NextEvent returns the next event, skipping other lines.
func (s *EventStream) NextEvent(t *testing.T) ServerEvent {
	t.Helper()
	for {
		if e := s.Next(t); e.Name != "" {
			return e
		}
	}
}

// Ended reads the rest of the stream and reports whether the server
// ended it, rather than the reads' patience.
func (s *EventStream) Ended() bool {
	_, err := io.Copy(&s.Raw, s.r)
	return err == nil
}
