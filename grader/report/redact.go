package report

// Redaction: a redacted criterion (hidden, student mode) keeps its title, status and points
// in every output; its evidence and hint never leave the grader, whatever the writer.

// hiddenNote is what stands in for a redacted criterion's evidence.
func hiddenNote(visibility string) string {
	if visibility == "after_due_date" {
		return "details hidden until the due date"
	}
	return "details hidden for this criterion"
}

// withheld returns a copy of r in which redacted criteria carry no evidence and no hint.
// r itself is not modified.
func withheld(r *Report) *Report {
	out := *r
	out.Cases = make([]Case, len(r.Cases))
	for i, c := range r.Cases {
		if c.Criteria != nil {
			crit := make([]Criterion, len(c.Criteria))
			copy(crit, c.Criteria)
			for j := range crit {
				if crit[j].Redacted {
					crit[j].Evidence = nil
					crit[j].Hint = ""
				}
			}
			c.Criteria = crit
		}
		out.Cases[i] = c
	}
	if r.Cases == nil {
		out.Cases = nil
	}
	return &out
}
