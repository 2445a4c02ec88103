import { describe, expect, it } from 'vitest';
import { buildLogsRequest, formatRow } from '../../../../cli/commands/logs.ts';

describe('buildLogsRequest', () => {
  it.each([
    [{}, 'recent handler logs', 3],
    [{ object: 'platform/blogsecret' }, 'what happened to platform/blogsecret', 3],
    [{ workload: 'team-a/web' }, 'restarts of team-a/web', 1],
    [{ violations: true }, 'protection violations', 1],
    [{ restarts: true }, 'workload restarts', 1],
    [{ errors: true }, 'errors', 3],
  ])('%o -> %s over %d log group(s)', (opts, title, groups) => {
    const req = buildLogsRequest({ stage: 'prod', ...opts });
    expect(req.title).toBe(title);
    expect(req.logGroupNames).toHaveLength(groups);
    for (const g of req.logGroupNames) expect(g).toMatch(/^\/aws\/lambda\/ripple-prod-(clone|rollout|protect)$/);
  });

  it('defaults: stage dev, last hour, 200 lines', () => {
    const req = buildLogsRequest({});
    expect(req).toMatchObject({ sinceMs: 3_600_000, limit: 200 });
    expect(req.logGroupNames[0]).toBe('/aws/lambda/ripple-dev-clone');
    expect(req.queryString).toContain('| limit 200');
  });

  it('passes --since and --limit through', () => {
    const req = buildLogsRequest({ since: '2d', limit: '5', errors: true });
    expect(req.sinceMs).toBe(2 * 86_400_000);
    expect(req.queryString).toContain('| limit 5');
  });

  it.each([
    [{ object: 'a/b', errors: true }, /choose one of .*--object, --errors/],
    [{ object: 'nope' }, /--object "nope": expected <namespace>\/<name>/],
    [{ workload: 'Bad/x' }, /--workload "Bad\/x": namespace "Bad"/],
    [{ since: 'yesterday' }, /--since "yesterday"/],
    [{ limit: '0' }, /--limit "0"/],
    [{ stage: 'a b' }, /--stage "a b"/],
  ])('rejects %o', (opts, message) => {
    expect(() => buildLogsRequest(opts)).toThrow(message);
  });
});

describe('formatRow', () => {
  it('time, handler, level, message, then the other fields; @ptr hidden; values with spaces quoted', () => {
    expect(
      formatRow({
        '@timestamp': '2026-11-25 10:00:00.000',
        function_name: 'ripple-prod-clone',
        level: 'INFO',
        message: 'copy created',
        namespace: 'team-a',
        name: 'blogsecret',
        reason: 'new namespace',
        '@ptr': 'xyz',
      }),
    ).toBe('2026-11-25 10:00:00.000  clone  INFO  copy created  namespace=team-a name=blogsecret reason="new namespace"');
  });
});
