/**
 * Regular expressions from annotations (anyone who may edit a Secret or a workload writes them): JavaScript's engine
 * backtracks, Go's RE2 (Reloader, Replicator) and .NET's timeouts do not save ripple from a hostile one. A pattern
 * with a quantified group that itself contains a quantifier or an alternation (`(a+)+`, `(a|a)*`), more than three
 * unbounded quantifiers (`.*a.*b.*c.*`), a backreference or a lookaround is never run: callers compare it as an
 * exact name instead. Shared by the rollout handler (Reloader's named lists) and the clone handler (Reflector's
 * and Replicator's namespace lists).
 */
/** Constructs a backtracking engine can take exponential time on, or that RE2 does not have. */
const UNSAFE = [/\\[1-9]/, /\\k</, /\(\?<?[=!]/];

/** True when a quantified group contains a quantifier (`(a+)+`, `(a|b*)*`, `(x{2,})+`): exponential backtracking. */
function nestedQuantifier(src: string): boolean {
  const stack: boolean[] = [];
  let quantifiedInside = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      // skip a character class
      for (i++; i < src.length && src[i] !== ']'; i++) if (src[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      stack.push(quantifiedInside);
      quantifiedInside = false;
    } else if (c === ')') {
      const inner = quantifiedInside;
      quantifiedInside = stack.pop() ?? false;
      const next = src[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      if (inner && quantified && next !== '?') return true;
      if (inner || quantified) quantifiedInside = true;
    } else if (c === '*' || c === '+' || c === '{' || (c === '|' && stack.length > 0)) {
      // an alternation inside a group counts too: `(a|a)*` backtracks exponentially as well
      quantifiedInside = true;
    }
  }
  return false;
}

/** Unbounded quantifiers (`*`, `+`, `{n,}`): more than MAX_UNBOUNDED makes a polynomial blow-up on a 253-character name. */
const MAX_UNBOUNDED = 3;
function unboundedQuantifiers(src: string): number {
  return (src.replace(/\\./g, '').replace(/\[(?:\\.|[^\]])*\]/g, 'x').match(/[*+]|\{\d+,\}/g) ?? []).length;
}

/**
 * Whether a regular expression from an annotation may run on JavaScript's backtracking engine: none of the
 * constructs above (nested quantifiers, more than MAX_UNBOUNDED unbounded quantifiers, backreferences,
 * lookarounds). Also used for the namespace patterns of Reflector's and Replicator's annotations.
 */
export function backtrackSafe(src: string): boolean {
  return !UNSAFE.some((u) => u.test(src)) && !nestedQuantifier(src) && unboundedQuantifiers(src) <= MAX_UNBOUNDED;
}

