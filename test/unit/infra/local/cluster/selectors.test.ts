import { describe, expect, it } from 'vitest';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../../../../../infra/local/cluster/selectors.ts';

const labels = { app: 'web', tier: 'front', version: '3' };

describe('label selectors', () => {
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app in (db)', false],
    ['app notin (db, cache)', true],
    ['app notin (web)', false],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['version>2', true],
    ['version<3', false],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['app in (web),!missing,tier', true],
  ])('%j matches: %s', (sel, want) => {
    expect(matchLabels(parseLabelSelector(sel), labels)).toBe(want);
  });

  it('treats an empty value as a value (key present with "")', () => {
    expect(matchLabels(parseLabelSelector('app='), { app: '' })).toBe(true);
    expect(matchLabels(parseLabelSelector('app='), labels)).toBe(false);
  });

  it.each(['a b c', 'app in (x', '=x', 'app in (bad value!)', 'version>x'])('rejects %j', (sel) => {
    expect(() => parseLabelSelector(sel)).toThrow(SelectorError);
  });
});

describe('field selectors', () => {
  const secret = { metadata: { name: 's1', namespace: 'ns1' }, type: 'Opaque' };
  it.each([
    ['metadata.name=s1', true],
    ['metadata.name==s1', true],
    ['metadata.name!=s1', false],
    ['metadata.namespace=ns1,type=Opaque', true],
    ['type!=kubernetes.io/tls', true],
    ['type=kubernetes.io/tls', false],
  ])('%j matches: %s', (sel, want) => {
    expect(matchFields(parseFieldSelector(sel, 'secrets'), secret)).toBe(want);
  });

  it('rejects fields the kind does not support, as the real server does', () => {
    expect(() => parseFieldSelector('type=Opaque', 'configmaps')).toThrow('field label not supported: type');
    expect(() => parseFieldSelector('spec.x=1', 'secrets')).toThrow(SelectorError);
  });
});
