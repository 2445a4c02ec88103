/**
 * Reading configuration from the environment, for every ripple process (handlers: ./runtime.ts; forwarder:
 * forwarder/config.ts). Pure: an env object in, a value or a ValidationError naming the variable out.
 */
import { ValidationError } from './errors.ts';

export type Env = Record<string, string | undefined>;

/** An integer in [min, max] (no max: at least min); absent or empty -> `dflt`. */
export function envInt(env: Env, name: string, dflt: number, min = 1, max?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    throw new ValidationError(`${name}: "${raw}" is not an integer ${max === undefined ? `of at least ${min}` : `between ${min} and ${max}`}`);
  }
  return n;
}

/** true/1/yes/on or false/0/no/off (any case); absent or empty -> `dflt`. */
export function envBool(env: Env, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ValidationError(`${name}: "${raw}" is not a boolean (true or false)`);
}

/** A comma-separated list, entries trimmed, empty entries dropped. */
export function envList(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A required, non-blank value (trimmed); `what` says what it is for. */
export function envRequired(env: Env, name: string, what: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ValidationError(`${name} is required: ${what}`);
  return v;
}

/** One of `allowed`; absent or empty -> `dflt`. */
export function envOneOf<T extends string>(env: Env, name: string, allowed: readonly T[], dflt: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!(allowed as readonly string[]).includes(raw)) throw new ValidationError(`${name}: "${raw}" is not one of ${allowed.join(', ')}`);
  return raw as T;
}
