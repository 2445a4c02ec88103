/**
 * Helpers shared by the CLI commands (kept outside cli/commands/, which cli/ripple.ts loads as commands).
 */
import { RippleError } from '../core/errors.ts';

/**
 * For a command's `catch`: a RippleError (bad input, a policy that does not load, ...) is printed to stderr line
 * by line and the exit code set to 1; any other error is rethrown (cli/ripple.ts reports it).
 */
export function reportRippleError(err: unknown): void {
  if (!(err instanceof RippleError)) throw err;
  for (const l of err.message.split('\n')) console.error(l);
  process.exitCode = 1;
}
