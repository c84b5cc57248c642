// Package words renders counts in the student's words: "1 connection",
// "3 connections". Every message of the grader that counts something uses it,
// so a count reads the same in every case.
package words

import "strconv"

// Plural picks the singular one for n == 1, else the plural many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count renders n with the noun that fits: Count(1, "client", "clients") is
// "1 client", Count(3, ...) is "3 clients".
func Count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + Plural(n, one, many)
}
