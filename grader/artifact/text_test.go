package artifact

import "testing"

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"AcceptQueue":           "accept queue",
		"SYNQueue":              "syn queue",
		"accept-queue<br/>full": "accept queue full",
		"  SYN_RECV  ":          "syn recv",
		"ListenOverflows++":     "listen overflows",
		"queue full → dropped":  "queue full dropped",
		"Kernel (TCP stack)":    "kernel tcp stack",
		"HTTP2Server":           "http2 server",
		"":                      "",
	}
	for in, want := range tests {
		if got := normalize(in); got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPhraseMatching(t *testing.T) {
	if !hasPhrase("the accept queue is full", "accept queue") {
		t.Error("hasPhrase missed a whole-word phrase")
	}
	if hasPhrase("preaccept queue", "accept queue") {
		t.Error("hasPhrase matched inside a word")
	}
	if !hasWordPrefix("client retransmits", "retr") || hasWordPrefix("metro", "retr") {
		t.Error("hasWordPrefix matches prefixes of words only")
	}
	if got := fromTODO("    Note over A: TODO draw it"); got != "TODO draw it" {
		t.Errorf("fromTODO = %q", got)
	}
}
