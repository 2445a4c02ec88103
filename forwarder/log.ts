/**
 * One JSON line per log record on stdout. Fields are identities, counts and codes — callers never pass object
 * content (the forwarder never holds any beyond the diff step).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export function jsonLog(write: (line: string) => void = (l) => process.stdout.write(l + '\n'), minLevel: LogLevel = 'info'): Log {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return (level, msg, fields) => {
    if (order[level] < order[minLevel]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  };
}

/** Error → loggable fields without stack bodies or request payloads. */
export function errorFields(err: unknown): Record<string, unknown> {
  const e = err as { name?: string; message?: string; statusCode?: number; code?: string };
  return { error: e?.name ?? 'Error', message: e?.message ?? String(err), ...(e?.statusCode ? { statusCode: e.statusCode } : {}), ...(e?.code ? { code: e.code } : {}) };
}

export const silentLog: Log = () => {};
