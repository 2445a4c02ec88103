import { describe, expect, it } from 'vitest';
import {
  errorsByHandlerQuery,
  errorsQuery,
  logGroupNames,
  objectQuery,
  parseObjectRef,
  parseSince,
  quote,
  restartsQuery,
  savedQueries,
  violationsQuery,
  workloadQuery,
} from '../../../../cli/logs/queries.ts';

describe('parseObjectRef', () => {
  it.each([
    ['platform/blogsecret', { namespace: 'platform', name: 'blogsecret' }],
    ['Secret/platform/blogsecret', { kind: 'Secret', namespace: 'platform', name: 'blogsecret' }],
    ['team-a/ca.bundle', { namespace: 'team-a', name: 'ca.bundle' }],
  ])('%s', (text, expected) => {
    expect(parseObjectRef(text)).toEqual(expected);
  });

  it.each([
    ['blogsecret', /expected <namespace>\/<name>/],
    ['a/b/c/d', /expected <namespace>\/<name>/],
    ['platform/', /expected <namespace>\/<name>/],
    ['Platform/blogsecret', /namespace "Platform" is not a valid namespace name/],
    ['platform/Blog"secret', /name "Blog"secret" is not a valid object name/],
    ['secret/platform/x', /kind "secret" is not a Kubernetes kind/],
  ])('rejects %s naming the option and the problem', (text, message) => {
    expect(() => parseObjectRef(text, '--object')).toThrow(message);
    expect(() => parseObjectRef(text, '--object')).toThrow(/^--object /);
  });
});

describe('quote', () => {
  it.each([
    ['plain', '"plain"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
  ])('%s', (input, expected) => {
    expect(quote(input)).toBe(expected);
  });
});

describe('parseSince', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
  ])('%s', (text, ms) => {
    expect(parseSince(text)).toBe(ms);
  });
  it.each(['', '1', 'h', '1w', '-1h', '0m', '1.5h'])('rejects "%s"', (text) => {
    expect(() => parseSince(text)).toThrow(/--since/);
  });
});

describe('queries', () => {
  it('object: exact fields or any line naming namespace/name, newest first', () => {
    expect(objectQuery({ namespace: 'platform', name: 'blogsecret' }, 50)).toBe(
      [
        'fields @timestamp, function_name, level, message, action, policy, object, workload, objects.0, kind, namespace, name, actor, verb, outcome, reason, cluster, correlation_id',
        '| filter (namespace = "platform" and name = "blogsecret") or @message like "platform/blogsecret"',
        '| sort @timestamp desc',
        '| limit 50',
      ].join('\n'),
    );
  });

  it('object with a kind also matches the kind', () => {
    expect(objectQuery({ kind: 'Secret', namespace: 'platform', name: 'blogsecret' })).toContain('(namespace = "platform" and name = "blogsecret" and kind = "Secret")');
  });

  it('workload: by workload field or mention', () => {
    expect(workloadQuery({ namespace: 'team-a', name: 'web' })).toContain('| filter workload = "team-a/web" or workload like "/team-a/web" or @message like "team-a/web"');
  });

  it('workload with a kind: exactly that workload', () => {
    expect(workloadQuery({ kind: 'StatefulSet', namespace: 'team-a', name: 'web' }).split('\n')).toContain('| filter workload = "StatefulSet/team-a/web"');
  });

  it.each([
    ['restarts', restartsQuery(), '| filter action = "restart"'],
    ['violations', violationsQuery(), '| filter action = "violation" or action = "denied"'],
    ['errors', errorsQuery(), '| filter level = "ERROR" or level = "CRITICAL"'],
    ['errors by handler', errorsByHandlerQuery(), '| stats count(*) as errors by function_name, errorClass'],
  ])('%s', (_name, query, line) => {
    expect(query.split('\n')).toContain(line);
  });

  it('log groups follow the function names <service>-<stage>-<handler>', () => {
    expect(logGroupNames('prod')).toEqual(['/aws/lambda/ripple-prod-clone', '/aws/lambda/ripple-prod-rollout', '/aws/lambda/ripple-prod-protect']);
    expect(logGroupNames('dev', ['protect'])).toEqual(['/aws/lambda/ripple-dev-protect']);
  });

  it('saved queries: the four questions, unique ids, each over the handlers that answer it', () => {
    const saved = savedQueries();
    expect(saved.map((q) => q.id)).toEqual(['ObjectHistory', 'Restarts', 'Violations', 'ErrorsByHandler']);
    expect(saved.find((q) => q.id === 'Violations')!.handlers).toEqual(['protect']);
    expect(saved.find((q) => q.id === 'Restarts')!.handlers).toEqual(['rollout']);
    for (const q of saved) expect(q.queryString.length).toBeLessThanOrEqual(10_000);
  });
});
