package words

import "testing"

func TestCountAndPlural(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 clients"}, {1, "1 client"}, {2, "2 clients"}, {-1, "-1 clients"}} {
		if got := Count(c.n, "client", "clients"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	if got := Plural(1, "request was", "requests were"); got != "request was" {
		t.Errorf("Plural(1) = %q", got)
	}
	if got := Plural(4, "request was", "requests were"); got != "requests were" {
		t.Errorf("Plural(4) = %q", got)
	}
}
