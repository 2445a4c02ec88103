/** events/samples/: one delivered event per detail-type, each valid against events/schema.ts. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { objectResource, parseRippleEvent } from '../../../events/schema.ts';
import { DETAIL_TYPES } from '../../../core/constants.ts';

const dir = join(import.meta.dirname, '../../../events/samples');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const fileFor = (detailType: string) => `${detailType.toLowerCase().replace(/ /g, '-')}.json`;

describe('events/samples', () => {
  it('has exactly one sample per detail-type', () => {
    expect(files).toEqual(Object.values(DETAIL_TYPES).map(fileFor).sort());
  });

  it.each(files)('%s is a valid delivered event of its detail-type', (file) => {
    const raw = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const ev = parseRippleEvent(raw);
    expect(fileFor(ev['detail-type'])).toBe(file);
    expect(ev.source).toBe('ripple.kubernetes');
    if ('kind' in ev.detail) expect(ev.resources).toEqual([objectResource(ev.detail)]);
    const text = JSON.stringify(raw);
    for (const forbidden of ['"data":', '"stringData":', '"binaryData":', 'last-applied-configuration']) expect(text).not.toContain(forbidden);
  });

  it('rejects a sample with an unknown detail field (the schema is strict)', () => {
    const raw = JSON.parse(readFileSync(join(dir, fileFor(DETAIL_TYPES.updated)), 'utf8'));
    raw.detail.data = { password: 'x' };
    expect(() => parseRippleEvent(raw)).toThrow(/data/);
  });
});
