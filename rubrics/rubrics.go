// Package rubrics embeds the rubric files beside it (one per case, plus
// module.yaml with the completion standard) into the grade binary, so that the
// grader carries its own rubrics wherever it runs.
package rubrics

import "embed"

// Files holds NN-slug.yaml for each case and module.yaml.
//
//go:embed *.yaml
var Files embed.FS

// ModuleFile is the completion standard's file name.
const ModuleFile = "module.yaml"

// CaseFile is the rubric file name of a case slug.
func CaseFile(slug string) string { return slug + ".yaml" }
