// Reads {"cases": [{"ignore": TEXT, "paths": [PATH, ...]}, ...]} on stdin and writes, for each
// case, whether docker excludes each path (a file path relative to the context root, '/'-separated)
// given that ignore file's text, or why docker refuses the ignore file:
// [{"excluded": [true, false, ...]}, {"refused": "..."}, ...].
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

type answer struct {
	Excluded []bool `json:"excluded,omitempty"`
	Refused  string `json:"refused,omitempty"`
}

type oracleCase struct {
	Ignore string   `json:"ignore"`
	Paths  []string `json:"paths"`
}

func main() {
	var input struct {
		Cases []oracleCase `json:"cases"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		fmt.Fprintln(os.Stderr, "reading cases:", err)
		os.Exit(2)
	}
	answers := make([]answer, len(input.Cases))
	for i, c := range input.Cases {
		answers[i] = judge(c)
	}
	if err := json.NewEncoder(os.Stdout).Encode(answers); err != nil {
		fmt.Fprintln(os.Stderr, "writing answers:", err)
		os.Exit(2)
	}
}

func judge(c oracleCase) answer {
	patterns, err := ignorefile.ReadAll(strings.NewReader(c.Ignore))
	if err != nil {
		return answer{Refused: err.Error()}
	}
	matcher, err := patternmatcher.New(patterns)
	if err != nil {
		return answer{Refused: err.Error()}
	}
	excluded := make([]bool, len(c.Paths))
	for j, path := range c.Paths {
		// A file is excluded when it, or a folder above it, matches (the last matching pattern wins).
		if excluded[j], err = matcher.MatchesOrParentMatches(path); err != nil {
			return answer{Refused: err.Error()}
		}
	}
	return answer{Excluded: excluded}
}
