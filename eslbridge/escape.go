package eslbridge

import "strings"

// FreeSWITCH parses `originate {name=value,...}dial &park()` in three passes, each with
// switch_separate_string, which strips single quotes and consumes backslash escapes:
//
//  1. the api arguments are split on blanks (mod_commands originate_function);
//  2. the {} block is split on ',' (switch_event_create_brackets);
//  3. each item is split on '=' into name and value.
//
// A value therefore goes through three escapings, the innermost first. Each pass
// unescapes \\ and \' (and \, in pass 2); pass 1 also turns \s into a blank while not
// splitting there. Braces cannot be escaped (switch_find_end_paren counts them) and line
// breaks would end the ESL command, so those are dropped.

var (
	escItem  = strings.NewReplacer(`\`, `\\`, `'`, `\'`)                 // pass 3
	escList  = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `,`, `\,`)      // pass 2
	escBlank = strings.NewReplacer(`\`, `\\`, `'`, `\'`, ` `, `\s`)      // pass 1
	dropped  = strings.NewReplacer("{", "", "}", "", "\n", "", "\r", "") //
)

// escapeVar escapes a channel variable value for the originate {} block.
func escapeVar(v string) string {
	return escBlank.Replace(escList.Replace(escItem.Replace(clean(v))))
}

// escapeArg escapes one blank-separated api argument (a file path, a cause).
func escapeArg(v string) string {
	return escBlank.Replace(clean(v))
}

func clean(v string) string {
	v = dropped.Replace(v)
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, v)
}
