import { describe, expect, it } from 'vitest';
import { requestTarget } from '../../../kube/http.ts';

describe('requestTarget', () => {
  it('encodes the query as a URL would decode it, leaving out undefined and empty values', () => {
    const t = requestTarget('', '/api/v1/secrets', { labelSelector: 'app in (a, b),tier!=x', fieldSelector: 'metadata.name=s/1', limit: 500, continue: undefined, watch: '' }, 'GET');
    const url = new URL(t, 'http://x');
    expect(url.pathname).toBe('/api/v1/secrets');
    expect([...url.searchParams]).toEqual([['labelSelector', 'app in (a, b),tier!=x'], ['fieldSelector', 'metadata.name=s/1'], ['limit', '500']]);
  });

  it('adds fieldManager=ripple to writes that name none, keeps one that is named, none on reads', () => {
    expect(requestTarget('/base', '/api/v1/namespaces/a/secrets/s', undefined, 'PATCH')).toBe('/base/api/v1/namespaces/a/secrets/s?fieldManager=ripple');
    expect(requestTarget('', '/x', { fieldManager: 'kubectl', dryRun: 'All' }, 'PUT')).toBe('/x?fieldManager=kubectl&dryRun=All');
    expect(requestTarget('', '/x', { limit: 1 }, 'GET')).toBe('/x?limit=1');
    expect(requestTarget('', '/x', {}, 'DELETE')).toBe('/x');
  });

  it('a path with its own query string keeps it and gets the options added', () => {
    const url = new URL(requestTarget('', '/x?a=1', { b: 2 }, 'POST'), 'http://x');
    expect([...url.searchParams]).toEqual([['a', '1'], ['b', '2'], ['fieldManager', 'ripple']]);
  });
});
