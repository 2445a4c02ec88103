/**
 * What `ripple dev` prints: narration of the pipeline and the scenario, and the functions' log lines — the
 * structured JSON lines the Lambdas write (Powertools Logger), passed through as they are, or pretty-printed on a
 * TTY (`time LEVEL function message key=value…`).
 */
import pc from 'picocolors';

export type LogMode = 'pretty' | 'json' | 'none';

export interface Output {
  line(text: string): void;
  heading(text: string): void;
  item(label: string, text: string): void;
  ok(text: string): void;
  fail(text: string): void;
  warn(text: string): void;
  step(text: string): void;
  note(text: string): void;
  functionLog(fn: string, line: string, stream: 'stdout' | 'stderr'): void;
}

const LEVEL_COLORS: Record<string, (s: string) => string> = {
  DEBUG: pc.gray,
  INFO: pc.cyan,
  WARN: pc.yellow,
  ERROR: pc.red,
  CRITICAL: pc.red,
};

const OMIT = new Set(['level', 'message', 'msg', 'time', 'timestamp', 'service', 'function_name', 'function_arn', 'function_memory_size', 'function_request_id', 'cold_start', 'xray_trace_id', 'sampling_rate']);

function scalar(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** One Powertools JSON log line -> `HH:MM:SS.mmm LEVEL fn message k=v`; null when the line is not JSON. */
export function prettyLogLine(fn: string, line: string, color = true): string | null {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    rec = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  if ('_aws' in rec && !('message' in rec)) {
    // an EMF metrics record
    const aws = rec._aws as { Timestamp?: number } | undefined;
    const at = new Date(typeof aws?.Timestamp === 'number' ? aws.Timestamp : Date.now()).toISOString().slice(11, 23);
    const metrics = Object.entries(rec).filter(([k, v]) => k !== '_aws' && typeof v === 'number').map(([k, v]) => `${k}=${v}`);
    const dim = color ? pc.gray : (s: string) => s;
    return dim(`${at} METRIC ${fn.padEnd(8)} ${metrics.join(' ')}`);
  }
  const when = rec.timestamp ?? rec.time;
  const ts = typeof when === 'string' ? when.slice(11, 23) : new Date().toISOString().slice(11, 23);
  const level = String(rec.level ?? 'INFO').toUpperCase();
  const fields = Object.entries(rec)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${scalar(v)}`)
    .join(' ');
  const paint = color ? (LEVEL_COLORS[level] ?? ((s: string) => s)) : (s: string) => s;
  const dim = color ? pc.gray : (s: string) => s;
  return `${dim(ts)} ${paint(level.padEnd(5))} ${fn.padEnd(8)} ${String(rec.message ?? rec.msg ?? '')}${fields ? ` ${dim(fields)}` : ''}`;
}

export function createOutput(write: (s: string) => void, opts: { color: boolean; logs: LogMode }): Output {
  const c = opts.color;
  const paint = (f: (s: string) => string) => (c ? f : (s: string) => s);
  return {
    line: (t) => write(`${t}\n`),
    heading: (t) => write(`${paint(pc.bold)(t)}\n`),
    item: (label, t) => write(`  ${paint(pc.gray)(label.padEnd(11))} ${t}\n`),
    ok: (t) => write(`  ${paint(pc.green)('✓')} ${t}\n`),
    fail: (t) => write(`  ${paint(pc.red)('✗')} ${t}\n`),
    warn: (t) => write(`  ${paint(pc.yellow)('!')} ${t}\n`),
    step: (t) => write(`  ${paint(pc.blue)('▸')} ${t}\n`),
    note: (t) => write(`  ${paint(pc.gray)(`· ${t}`)}\n`),
    functionLog(fn, line, stream) {
      if (opts.logs === 'none') return;
      if (opts.logs === 'json') {
        write(`${line}\n`);
        return;
      }
      const pretty = prettyLogLine(fn, line, c);
      write(`    ${pretty ?? `${paint(pc.gray)(fn.padEnd(8))} ${stream === 'stderr' ? paint(pc.red)(line) : line}`}\n`);
    },
  };
}
