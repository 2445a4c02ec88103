/**
 * `ripple logs` through the real @aws-sdk/client-cloudwatch-logs against a small local stand-in for the
 * CloudWatch Logs JSON protocol (StartQuery / GetQueryResults / StopQuery): the stub records what the SDK sent
 * and answers like the service does (queries run, then complete with rows of {field, value}).
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runLogs } from '../../../../cli/commands/logs.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

type Cell = { field: string; value: string };
interface Received {
  target: string;
  body: any;
  contentType: string | undefined;
  authorization: string | undefined;
}

/** Each StartQuery gets the next entry of `answers`: how many polls stay Running, then the rows. */
class LogsStub {
  server!: Server;
  url = '';
  received: Received[] = [];
  answers: { running: number; rows: Cell[][] }[] = [];
  private queries = new Map<string, { running: number; rows: Cell[][] }>();

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const body = data ? JSON.parse(data) : {};
        this.received.push({ target, body, contentType: req.headers['content-type'], authorization: req.headers.authorization });
        const send = (status: number, payload: unknown) => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(payload));
        };
        if (target === 'Logs_20140328.StartQuery') {
          const answer = this.answers.shift() ?? { running: 0, rows: [] };
          const queryId = `q-${this.received.length}`;
          this.queries.set(queryId, { ...answer });
          return send(200, { queryId });
        }
        if (target === 'Logs_20140328.GetQueryResults') {
          const q = this.queries.get(body.queryId);
          if (!q) return send(400, { __type: 'ResourceNotFoundException', message: `query ${body.queryId} not found` });
          if (q.running > 0) {
            q.running--;
            return send(200, { status: 'Running', results: [] });
          }
          return send(200, { status: 'Complete', results: q.rows, statistics: { recordsMatched: q.rows.length } });
        }
        if (target === 'Logs_20140328.StopQuery') return send(200, { success: true });
        send(400, { __type: 'UnknownOperationException', message: target });
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

const row = (ptr: string, ts: string, message: string, extra: Record<string, string> = {}): Cell[] => [
  { field: '@timestamp', value: ts },
  { field: 'function_name', value: 'ripple-prod-clone' },
  { field: 'level', value: 'INFO' },
  { field: 'message', value: message },
  ...Object.entries(extra).map(([field, value]) => ({ field, value })),
  { field: '@ptr', value: ptr },
];

const stub = new LogsStub();
let client: CloudWatchLogsClient;

beforeAll(async () => {
  await stub.start();
  client = new CloudWatchLogsClient({ endpoint: stub.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
});
afterAll(async () => {
  client.destroy();
  await stub.stop();
});
beforeEach(() => {
  stub.received = [];
  stub.answers = [];
});

describe('ripple logs over the CloudWatch Logs protocol', () => {
  it('--object: starts the object query on every handler log group of the stage, polls until complete, prints oldest first', async () => {
    // Prepare
    stub.answers.push({
      running: 2,
      rows: [row('p2', '2026-11-25 10:00:02.000', 'copy updated', { namespace: 'team-a', name: 'blogsecret' }), row('p1', '2026-11-25 10:00:01.000', 'copy created', { namespace: 'team-b', name: 'blogsecret' })],
    });
    const lines: string[] = [];
    const now = Date.parse('2026-11-25T11:00:00Z');
    // Act
    const count = await runLogs({ object: 'platform/blogsecret', stage: 'prod', since: '2h' }, { client, now: () => now, print: (l) => lines.push(l), pollMs: 1 });
    // Assess
    expect(count).toBe(2);
    expect(stub.received.map((r) => r.target)).toEqual(['Logs_20140328.StartQuery', 'Logs_20140328.GetQueryResults', 'Logs_20140328.GetQueryResults', 'Logs_20140328.GetQueryResults']);
    const start = stub.received[0]!;
    expect(start.contentType).toBe('application/x-amz-json-1.1');
    expect(start.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/logs\/aws4_request/);
    expect(start.body).toMatchObject({
      logGroupNames: ['/aws/lambda/ripple-prod-clone', '/aws/lambda/ripple-prod-rollout', '/aws/lambda/ripple-prod-protect'],
      startTime: now / 1000 - 7200,
      endTime: now / 1000,
      limit: 200,
    });
    expect(start.body.queryString).toContain('@message like "platform/blogsecret"');
    expect(stub.received[1]!.body).toEqual({ queryId: 'q-1' });
    expect(lines[0]).toMatch(/^# what happened to platform\/blogsecret: 2 line\(s\)/);
    expect(lines.slice(1)).toEqual([
      '2026-11-25 10:00:01.000  clone  INFO  copy created  namespace=team-b name=blogsecret',
      '2026-11-25 10:00:02.000  clone  INFO  copy updated  namespace=team-a name=blogsecret',
    ]);
  });

  it('--follow: re-queries from the newest line seen and prints each line once', async () => {
    // Prepare: the second poll returns the last line again plus a new one.
    stub.answers.push({ running: 0, rows: [row('p2', '2026-11-25 10:00:02.000', 'b'), row('p1', '2026-11-25 10:00:01.000', 'a')] });
    stub.answers.push({ running: 0, rows: [row('p3', '2026-11-25 10:00:03.000', 'c'), row('p2', '2026-11-25 10:00:02.000', 'b')] });
    const ac = new AbortController();
    let polls = 0;
    const lines: string[] = [];
    // Act
    const printed = await runLogs(
      { violations: true, follow: true, json: true, stage: 'prod' },
      {
        client,
        now: () => Date.parse('2026-11-25T10:00:10Z'),
        print: (l) => lines.push(l),
        signal: ac.signal,
        pollMs: 1,
        sleep: async () => {
          if (++polls === 2) ac.abort();
        },
      },
    );
    // Assess
    expect(printed).toBe(3);
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['a', 'b', 'c']);
    const starts = stub.received.filter((r) => r.target === 'Logs_20140328.StartQuery');
    expect(starts).toHaveLength(2);
    expect(starts[0]!.body.logGroupNames).toEqual(['/aws/lambda/ripple-prod-protect']);
    // The second query starts at the newest line seen (minus a second), not an hour back again.
    expect(starts[1]!.body.startTime).toBe(Date.parse('2026-11-25T10:00:01Z') / 1000);
  });

  it('a failed query is an error naming the query', async () => {
    stub.answers.push({ running: 0, rows: [] });
    const failing = {
      send: async (cmd: any) => {
        const out = await client.send(cmd);
        return cmd.constructor.name === 'GetQueryResultsCommand' ? { ...out, status: 'Failed' } : out;
      },
    };
    await expect(runLogs({ errors: true }, { client: failing, print: () => undefined, pollMs: 1 })).rejects.toThrow(/query q-\d+ ended with status Failed/);
  });

  it('the CLI command end to end: `ripple logs --errors --endpoint ...`', async () => {
    stub.answers.push({ running: 1, rows: [row('p9', '2026-11-25 10:00:09.000', 'unexpected error; rethrown for retry', { level: 'ERROR' })] });
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' };
    const { code, out } = await new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(process.execPath, [join(root, 'cli/ripple.ts'), 'logs', '--errors', '--stage', 'prod', '--since', '30m', '--endpoint', stub.url], { env, cwd: root });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (c) => done({ code: c, out }));
    });
    expect(out).toContain('unexpected error; rethrown for retry');
    expect(code).toBe(0);
    const start = stub.received.find((r) => r.target === 'Logs_20140328.StartQuery')!;
    expect(start.body.queryString).toContain('| filter level = "ERROR" or level = "CRITICAL"');
    expect(start.body.endTime - start.body.startTime).toBeGreaterThanOrEqual(1800);
  });
});
