/**
 * Reloader's named lists (`secret.reloader.stakater.com/reload: "db-.*,cache"`): each entry a regular expression
 * anchored `^…$`, as Reloader compiles it; an entry that does not compile compares as an exact name.
 *
 * Entries come from workload annotations, i.e. from anyone who may edit a workload; Go's RE2 runs in linear time,
 * JavaScript's engine backtracks. An entry with a quantified group that itself contains a quantifier or an
 * alternation (`(a+)+`, `(a|a)*`), more than three unbounded quantifiers (`.*a.*b.*c.*`), a backreference or a
 * lookaround is therefore compared as an exact name (Go would reject the last two as well), so one hostile
 * annotation cannot stall the handler for every namespace of its batch. A leading `(?i)` works as in Go.
 */
import { backtrackSafe } from '../runtime/regex.ts';

const regexCache = new Map<string, RegExp | null>();

/** `^value$` as Reloader compiles it; null when it is not a (safe) regular expression: compare exactly then. */
export function namePattern(value: string): RegExp | null {
  if (regexCache.has(value)) return regexCache.get(value)!;
  let re: RegExp | null = null;
  let src = value;
  let flags = '';
  if (src.startsWith('(?i)')) {
    src = src.slice(4);
    flags = 'i';
  }
  if (backtrackSafe(src)) {
    try {
      re = new RegExp(`^(?:${src})$`, flags);
    } catch {
      re = null;
    }
  }
  if (regexCache.size > 10_000) regexCache.clear();
  regexCache.set(value, re);
  return re;
}

/** Does a Reloader named-list entry select `name`? */
export function nameMatches(entry: string, name: string): boolean {
  const re = namePattern(entry);
  return re ? re.test(name) : entry === name;
}
