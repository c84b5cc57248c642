package artifact

import (
	"regexp"
	"strings"
	"unicode"
)

// Checks match what students write, not one spelling: "AcceptQueue", "accept-queue" and
// "Accept queue" are the same words. normalize turns text into lower-case words
// separated by single spaces, which phrase matching then works on.

// htmlTag matches the tags Mermaid allows in labels, such as <br/>.
var htmlTag = regexp.MustCompile(`<[^<>]*>`)

// normalize returns s as lower-case words (letters and digits) separated by single
// spaces: camelCase and CAPSWords are split ("SYNQueue" → "syn queue"), HTML tags,
// punctuation and arrows become spaces.
func normalize(s string) string {
	s = htmlTag.ReplaceAllString(s, " ")
	rs := []rune(s)
	var b strings.Builder
	space := true // a space was written last (or nothing yet)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		if i > 0 && !space && unicode.IsUpper(r) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(unicode.ToLower(r))
		space = false
	}
	return strings.TrimSpace(b.String())
}

// hasPhrase reports whether the normalized text holds one of the phrases as whole words.
func hasPhrase(norm string, phrases ...string) bool {
	padded := " " + norm + " "
	for _, p := range phrases {
		if strings.Contains(padded, " "+p+" ") {
			return true
		}
	}
	return false
}

// hasWordPrefix reports whether a word of the normalized text starts with one of the
// prefixes ("retransmits" starts with "retr").
func hasWordPrefix(norm string, prefixes ...string) bool {
	for _, w := range strings.Fields(norm) {
		for _, p := range prefixes {
			if strings.HasPrefix(w, p) {
				return true
			}
		}
	}
	return false
}

// hasTODO reports whether a line holds a TODO marker.
func hasTODO(s string) bool {
	return strings.Contains(s, "TODO")
}

// fromTODO returns s from its TODO marker on, the part worth quoting.
func fromTODO(s string) string {
	if i := strings.Index(s, "TODO"); i >= 0 {
		return s[i:]
	}
	return s
}
