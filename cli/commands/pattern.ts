/**
 * `ripple pattern test --pattern P.json --event E.json`: does this EventBridge event pattern match this event?
 * Prints `match` / `no match`; exits 0 on match, 1 on no match, 2 on an invalid pattern or event (with the reason).
 * Uses the same matcher as the local EventBridge (infra/local/eventbridge/pattern.ts).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { matches, validatePattern } from '../../infra/local/eventbridge/pattern.ts';

export interface PatternTestResult {
  exitCode: 0 | 1 | 2;
  output: string;
}

function readJson(file: string, what: 'pattern' | 'event'): { value?: unknown; error?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { error: `${what} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (err) {
    return { error: `${what} ${file}: not valid JSON (${(err as Error).message})` };
  }
}

/** The command's logic, without process I/O (tests call it directly). */
export function patternTest(patternFile: string, eventFile: string): PatternTestResult {
  const pattern = readJson(patternFile, 'pattern');
  if (pattern.error) return { exitCode: 2, output: pattern.error };
  const reason = validatePattern(pattern.value);
  if (reason) return { exitCode: 2, output: `pattern ${patternFile}: Event pattern is not valid. Reason: ${reason}` };
  const event = readJson(eventFile, 'event');
  if (event.error) return { exitCode: 2, output: event.error };
  if (typeof event.value !== 'object' || event.value === null || Array.isArray(event.value)) {
    return { exitCode: 2, output: `event ${eventFile}: must be a JSON object (an EventBridge event), got ${Array.isArray(event.value) ? 'an array' : typeof event.value}` };
  }
  return matches(pattern.value, event.value) ? { exitCode: 0, output: 'match' } : { exitCode: 1, output: 'no match' };
}

export function register(program: Command): void {
  const group = program.command('pattern').description('EventBridge event patterns');
  group
    .command('test')
    .description('test an EventBridge event pattern against an event: exit 0 match, 1 no match, 2 invalid pattern or event')
    .requiredOption('--pattern <file>', 'event pattern (JSON file), e.g. events/patterns/clone.json')
    .requiredOption('--event <file>', 'event as EventBridge delivers it (JSON file), e.g. events/samples/*.json')
    .action((opts: { pattern: string; event: string }) => {
      const result = patternTest(opts.pattern, opts.event);
      if (result.exitCode === 2) console.error(result.output);
      else console.log(result.output);
      process.exitCode = result.exitCode;
    });
}
