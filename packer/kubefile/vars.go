package kubefile

import (
	"fmt"
	"slices"
	"sort"
)

func (e *evaluator) setEnv(key, val string) {
	for i := range e.env {
		if e.env[i].Key == key {
			e.env[i].Value = val
			return
		}
	}
	e.env = append(e.env, KeyValue{key, val})
}

// expand substitutes variables in one word, removing its quotes.
func (e *evaluator) expand(pos Pos, word string) (string, error) {
	res, err := e.lex.ProcessWordWithMatches(word, e)
	if err != nil {
		return "", Errorf(pos, "%w", err)
	}
	e.hint(pos, res.Unmatched)
	return res.Result, nil
}

// hint warns when a variable that is unset here was declared by an ARG
// before FROM: a classic Dockerfile surprise.
func (e *evaluator) hint(pos Pos, unmatched map[string]struct{}) {
	if !e.afterFrom {
		return
	}
	names := make([]string, 0, len(unmatched))
	for n := range unmatched {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, global := e.global[n]; global && !e.warned[n] {
			e.warned[n] = true
			e.warnings = append(e.warnings, fmt.Sprintf("%s: $%s is empty: ARG %s before FROM is seen by FROM only; repeat `ARG %s` after FROM", pos, n, n, n))
		}
	}
}

// Get implements shell.EnvGetter: before FROM only global ARGs exist; after
// it ENV wins over ARG.
func (e *evaluator) Get(key string) (string, bool) {
	if !e.afterFrom {
		if v, ok := e.global[key]; ok && v != nil {
			return *v, true
		}
		return "", false
	}
	for _, kv := range e.env {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	if v, ok := e.args[key]; ok && v != nil {
		return *v, true
	}
	return "", false
}

// Keys implements shell.EnvGetter.
func (e *evaluator) Keys() []string {
	var keys []string
	if !e.afterFrom {
		for k, v := range e.global {
			if v != nil {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		return keys
	}
	for _, kv := range e.env {
		keys = append(keys, kv.Key)
	}
	for _, k := range e.argOrder {
		if e.args[k] != nil && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// runEnv is the environment of a RUN: ARGs with a value, then ENV; ENV wins.
func (e *evaluator) runEnv() []string {
	var out []string
	for _, k := range e.argOrder {
		v := e.args[k]
		if v == nil || slices.ContainsFunc(e.env, func(kv KeyValue) bool { return kv.Key == k }) {
			continue
		}
		out = append(out, k+"="+*v)
	}
	for _, kv := range e.env {
		out = append(out, kv.Key+"="+kv.Value)
	}
	return out
}
