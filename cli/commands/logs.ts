/**
 * `ripple logs`: CloudWatch Logs Insights over a deployed stage's handler logs.
 *
 *   ripple logs --object platform/blogsecret --since 2h     what happened to this object (and its copies)
 *   ripple logs --workload team-a/web                       restarts of this workload and why
 *   ripple logs --restarts | --violations | --errors        the saved questions
 *   ripple logs --follow                                    keep polling for new lines
 *
 * The query strings come from cli/logs/queries.ts (pure, also behind the saved queries serverless.yml deploys).
 * AWS credentials and region come from the usual SDK chain; `--endpoint` points the client elsewhere (tests).
 */
import { CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { Command } from 'commander';
import {
  errorsQuery,
  HANDLERS,
  logGroupNames,
  objectQuery,
  parseObjectRef,
  parseSince,
  quote,
  restartsQuery,
  violationsQuery,
  workloadQuery,
  DISPLAY_FIELDS,
  type Handler,
} from '../logs/queries.ts';

export interface LogsOptions {
  object?: string;
  workload?: string;
  violations?: boolean;
  restarts?: boolean;
  errors?: boolean;
  since?: string;
  follow?: boolean;
  stage?: string;
  region?: string;
  endpoint?: string;
  limit?: string | number;
  json?: boolean;
  /** Seconds between polls with --follow (default 10). */
  interval?: string | number;
}

export interface LogsRequest {
  title: string;
  logGroupNames: string[];
  queryString: string;
  sinceMs: number;
  limit: number;
}

function recentQuery(limit: number): string {
  return [`fields ${DISPLAY_FIELDS.join(', ')}`, '| sort @timestamp desc', `| limit ${limit}`].join('\n');
}

function positive(value: string | number | undefined, dflt: number, option: string, max = 10_000): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new Error(`${option} "${value}": expected a whole number from 1 to ${max}`);
  return n;
}

/** Pure: options -> which log groups, which query, how far back. Throws an error naming the bad option. */
export function buildLogsRequest(opts: LogsOptions): LogsRequest {
  const chosen = (['object', 'workload', 'violations', 'restarts', 'errors'] as const).filter((k) => opts[k]);
  if (chosen.length > 1) throw new Error(`choose one of --object, --workload, --violations, --restarts, --errors (got ${chosen.map((c) => `--${c}`).join(', ')})`);
  const stage = opts.stage ?? 'dev';
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) throw new Error(`--stage "${stage}": letters, digits and - only`);
  const limit = positive(opts.limit, 200, '--limit');
  const sinceMs = parseSince(opts.since ?? '1h');
  let handlers: readonly Handler[] = HANDLERS;
  let title: string;
  let queryString: string;
  if (opts.object) {
    const ref = parseObjectRef(opts.object, '--object');
    title = `what happened to ${opts.object}`;
    queryString = objectQuery(ref, limit);
  } else if (opts.workload) {
    const ref = parseObjectRef(opts.workload, '--workload');
    title = `restarts of ${opts.workload}`;
    handlers = ['rollout'];
    queryString = workloadQuery(ref, limit);
  } else if (opts.violations) {
    title = 'protection violations';
    handlers = ['protect'];
    queryString = violationsQuery(limit);
  } else if (opts.restarts) {
    title = 'workload restarts';
    handlers = ['rollout'];
    queryString = restartsQuery(limit);
  } else if (opts.errors) {
    title = 'errors';
    queryString = errorsQuery(limit);
  } else {
    title = 'recent handler logs';
    queryString = recentQuery(limit);
  }
  return { title, logGroupNames: logGroupNames(stage, handlers), queryString, sinceMs, limit };
}

/** One result row of Logs Insights as a plain object (`@ptr` kept for de-duplication). */
export type Row = Record<string, string>;

export interface QueryClient {
  send(command: StartQueryCommand | GetQueryResultsCommand | StopQueryCommand): Promise<any>;
}

export interface RunQueryDeps {
  sleep?: (ms: number) => Promise<void>;
  /** Delay between GetQueryResults polls (ms). */
  pollMs?: number;
  /** Give up (and StopQuery) after this long (ms). */
  timeoutMs?: number;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** StartQuery, then GetQueryResults until the query is done. Rows come back as Logs Insights sorts them. */
export async function runQuery(client: QueryClient, req: { logGroupNames: string[]; queryString: string; startMs: number; endMs: number; limit: number }, deps: RunQueryDeps = {}): Promise<Row[]> {
  const sleep = deps.sleep ?? sleepMs;
  const pollMs = deps.pollMs ?? 1000;
  const deadline = Date.now() + (deps.timeoutMs ?? 120_000);
  const started = await client.send(
    new StartQueryCommand({
      logGroupNames: req.logGroupNames,
      queryString: req.queryString,
      startTime: Math.floor(req.startMs / 1000),
      endTime: Math.ceil(req.endMs / 1000),
      limit: req.limit,
    }),
  );
  const queryId: string | undefined = started.queryId;
  if (!queryId) throw new Error('StartQuery returned no queryId');
  for (;;) {
    const res = await client.send(new GetQueryResultsCommand({ queryId }));
    const status: string = res.status ?? 'Unknown';
    if (status === 'Complete') {
      return ((res.results ?? []) as { field?: string; value?: string }[][]).map((cells) => Object.fromEntries(cells.filter((c) => c.field).map((c) => [c.field!, c.value ?? ''])));
    }
    if (status === 'Failed' || status === 'Cancelled' || status === 'Timeout') throw new Error(`Logs Insights query ${queryId} ended with status ${status}`);
    if (Date.now() > deadline) {
      await client.send(new StopQueryCommand({ queryId })).catch(() => undefined);
      throw new Error(`Logs Insights query ${queryId} did not finish in time (status ${status}); narrow --since`);
    }
    await sleep(pollMs);
  }
}

/** A result row as one line: time, handler, level, message, then the ripple fields that are set. */
export function formatRow(row: Row): string {
  const fn = (row.function_name ?? '').replace(/^ripple-[^-]+-/, '') || '-';
  const head = [row['@timestamp'] ?? '', fn, row.level ?? '', row.message ?? ''].filter(Boolean).join('  ');
  const rest = Object.entries(row)
    .filter(([k, v]) => v !== '' && !['@timestamp', 'function_name', 'level', 'message', '@ptr'].includes(k))
    .map(([k, v]) => `${k}=${/\s/.test(v) ? quote(v) : v}`);
  return rest.length ? `${head}  ${rest.join(' ')}` : head;
}

function rowTime(row: Row): number {
  const t = Date.parse(`${(row['@timestamp'] ?? '').replace(' ', 'T')}Z`);
  return Number.isNaN(t) ? 0 : t;
}

export interface LogsDeps extends RunQueryDeps {
  client?: QueryClient;
  now?: () => number;
  print?: (line: string) => void;
  /** Stops --follow (tests, Ctrl-C). */
  signal?: AbortSignal;
}

/** The command: one query, or with --follow a poll loop printing only lines not printed yet (oldest first). */
export async function runLogs(opts: LogsOptions, deps: LogsDeps = {}): Promise<number> {
  const req = buildLogsRequest(opts);
  const client = deps.client ?? new CloudWatchLogsClient({ ...(opts.region ? { region: opts.region } : {}), ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) });
  const now = deps.now ?? Date.now;
  const print = deps.print ?? ((l: string) => console.log(l));
  const show = (row: Row) => print(opts.json ? JSON.stringify(row) : formatRow(row));
  const intervalMs = positive(opts.interval, 10, '--interval', 3600) * 1000;
  let start = now() - req.sinceMs;
  if (!opts.follow) {
    const rows = await runQuery(client, { ...req, startMs: start, endMs: now() }, deps);
    if (!opts.json) print(`# ${req.title}: ${rows.length} line(s) since ${new Date(start).toISOString()} in ${req.logGroupNames.join(', ')}`);
    for (const row of rows.slice().reverse()) show(row);
    return rows.length;
  }
  const seen = new Set<string>();
  let printed = 0;
  if (!opts.json) print(`# ${req.title}, following (every ${intervalMs / 1000}s; Ctrl-C to stop)`);
  while (!deps.signal?.aborted) {
    const end = now();
    const rows = await runQuery(client, { ...req, startMs: start, endMs: end }, deps);
    const fresh = rows.filter((r) => !seen.has(r['@ptr'] ?? JSON.stringify(r))).reverse();
    for (const row of fresh) {
      seen.add(row['@ptr'] ?? JSON.stringify(row));
      show(row);
      printed++;
      start = Math.max(start, rowTime(row) - 1000);
    }
    if (deps.signal?.aborted) break;
    await (deps.sleep ?? sleepMs)(intervalMs);
  }
  return printed;
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("query a deployed stage's handler logs with CloudWatch Logs Insights")
    .option('--object <ref>', 'what happened to an object and its copies: <namespace>/<name> or <Kind>/<namespace>/<name>')
    .option('--workload <ref>', 'restarts of a workload and why: <namespace>/<name>')
    .option('--violations', 'protection violations')
    .option('--restarts', 'which workloads were restarted, and why')
    .option('--errors', 'error lines of every handler')
    .option('--since <duration>', 'how far back: 30m, 1h, 2d', '1h')
    .option('--follow', 'keep polling and print new lines')
    .option('--interval <seconds>', 'seconds between polls with --follow', '10')
    .option('--limit <n>', 'at most this many lines per query', '200')
    .option('--json', 'one JSON object per line')
    .option('--stage <stage>', 'deployed stage', 'dev')
    .option('--region <region>', 'AWS region (default: the SDK chain, e.g. AWS_REGION)')
    .option('--endpoint <url>', 'CloudWatch Logs endpoint (tests, VPC endpoints)')
    .action(async (opts: LogsOptions) => {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      await runLogs(opts, { signal: ac.signal });
    });
}
