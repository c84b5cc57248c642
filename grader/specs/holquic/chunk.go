package holquic

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// stamp is what opens every chunk: "stream=<id> chunk=<index> sent=<unix µs>".
type stamp struct {
	stream, index int
	sent          time.Time
}

// makeChunk renders the brief's chunk: the stamp, dots up to size-1 bytes, a
// newline.
func makeChunk(s stamp, size int) []byte {
	text := fmt.Sprintf("stream=%d chunk=%d sent=%d", s.stream, s.index, s.sent.UnixMicro())
	return []byte(text + strings.Repeat(".", size-1-len(text)) + "\n")
}

// parseChunk checks one chunk of size bytes against the brief's format; its
// error says what is wrong, in the student's terms.
func parseChunk(b []byte) (stamp, error) {
	var s stamp
	show := func() string { return strconv.Quote(string(b[:min(len(b), 60)])) }
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return s, fmt.Errorf("a chunk must end with a newline (its last byte); this one, %s, does not", show())
	}
	text, _, _ := bytes.Cut(b[:len(b)-1], []byte("."))
	fields := strings.Fields(string(text))
	if len(fields) != 3 || !strings.HasPrefix(fields[0], "stream=") || !strings.HasPrefix(fields[1], "chunk=") || !strings.HasPrefix(fields[2], "sent=") {
		return s, fmt.Errorf("a chunk must open with \"stream=<id> chunk=<index> sent=<unix microseconds>\"; this one opens %s", show())
	}
	var err error
	if s.stream, err = strconv.Atoi(strings.TrimPrefix(fields[0], "stream=")); err != nil {
		return s, fmt.Errorf("the stream id of %s is not a number", show())
	}
	if s.index, err = strconv.Atoi(strings.TrimPrefix(fields[1], "chunk=")); err != nil {
		return s, fmt.Errorf("the chunk index of %s is not a number", show())
	}
	micros, err := strconv.ParseInt(strings.TrimPrefix(fields[2], "sent="), 10, 64)
	if err != nil {
		return s, fmt.Errorf("the send time of %s is not a number of microseconds", show())
	}
	s.sent = time.UnixMicro(micros)
	if pad := b[len(text) : len(b)-1]; len(bytes.Trim(pad, ".")) > 0 {
		return s, fmt.Errorf("after its stamp a chunk holds only dots up to its newline; %s holds other bytes", show())
	}
	return s, nil
}
