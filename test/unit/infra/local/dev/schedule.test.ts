/** EventBridge schedule expressions as the local runner runs them: parse, next firing time, the timer loop. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSchedule, rateMs, runSchedule, ScheduleExpressionError } from '../../../../../infra/local/dev/schedule.ts';

describe('parseSchedule: next firing (UTC)', () => {
  it.each([
    ['rate(10 minutes)', '2026-11-25T13:00:00Z', '2026-11-25T13:10:00.000Z'],
    ['rate(1 hour)', '2026-11-25T13:00:00Z', '2026-11-25T14:00:00.000Z'],
    ['rate(2 days)', '2026-11-25T13:00:00Z', '2026-11-27T13:00:00.000Z'],
    ['cron(0 12 * * ? *)', '2026-11-25T13:00:00Z', '2026-11-26T12:00:00.000Z'],
    ['cron(0 12 * * ? *)', '2026-11-25T11:59:00Z', '2026-11-25T12:00:00.000Z'],
    ['cron(0/5 * * * ? *)', '2026-11-25T13:35:00Z', '2026-11-25T13:40:00.000Z'],
    ['cron(0/5 * * * ? *)', '2026-11-25T13:35:00.500Z', '2026-11-25T13:40:00.000Z'],
    // Friday 18:00 -> Monday 18:00
    ['cron(0 18 ? * MON-FRI *)', '2026-11-27T18:00:00Z', '2026-11-30T18:00:00.000Z'],
    // last day of the month
    ['cron(15 10 L * ? *)', '2026-11-25T00:00:00Z', '2026-11-30T10:15:00.000Z'],
    // first Monday of the month (day-of-week 2 = MON in EventBridge)
    ['cron(0 9 ? * 2#1 *)', '2026-11-25T00:00:00Z', '2026-12-07T09:00:00.000Z'],
  ])('%s after %s -> %s', (expression, from, want) => {
    expect(parseSchedule(expression).next(new Date(from))?.toISOString()).toBe(want);
  });

  it('a year in the past never fires again', () => {
    expect(parseSchedule('cron(0 0 1 1 ? 2020)').next(new Date('2026-11-25T00:00:00Z'))).toBeNull();
  });

  it('rateMs: rate(...) in milliseconds, null for anything else', () => {
    expect(rateMs('rate(10 minutes)')).toBe(600_000);
    expect(rateMs('cron(0 12 * * ? *)')).toBeNull();
  });
});

describe('parseSchedule: expressions EventBridge refuses', () => {
  it.each([
    ['cron(0 12 * * * *)', 'exactly one of day-of-month (3rd field) and day-of-week (5th field) must be ?'],
    ['cron(0 12 ? * ? *)', 'exactly one of day-of-month (3rd field) and day-of-week (5th field) must be ?'],
    ['cron(0 12 * * ?)', 'cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 5'],
    ['cron(61 * * * ? *)', 'number 61 is not between 0 and 59'],
    ['rate(1 minutes)', 'use the singular unit for 1'],
    ['rate(5 minute)', 'use the singular unit for 1'],
    ['rate(0 minutes)', 'the rate must be at least 1'],
    ['rate(5 seconds)', 'not rate(value unit) or cron('],
    ['every 5 minutes', 'not rate(value unit) or cron('],
  ])('%s: %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleExpressionError);
    expect(() => parseSchedule(expression)).toThrow(`schedule "${expression}": `);
    expect(() => parseSchedule(expression)).toThrow(message);
  });
});

describe('runSchedule', () => {
  afterEach(() => vi.useRealTimers());

  it('fires at each cron time, then arms the next; stop() ends it', () => {
    // Prepare: a clock at 13:33:20 UTC.
    vi.useFakeTimers({ now: new Date('2026-11-25T13:33:20Z') });
    const fired: string[] = [];
    // Act
    const run = runSchedule(parseSchedule('cron(0/5 * * * ? *)'), (at) => fired.push(at.toISOString()));
    // Assess
    expect(run.first?.toISOString()).toBe('2026-11-25T13:35:00.000Z');
    vi.advanceTimersByTime(99_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['2026-11-25T13:35:00.000Z']);
    vi.advanceTimersByTime(10 * 60_000);
    expect(fired).toEqual(['2026-11-25T13:35:00.000Z', '2026-11-25T13:40:00.000Z', '2026-11-25T13:45:00.000Z']);
    run.stop();
    vi.advanceTimersByTime(60 * 60_000);
    expect(fired).toHaveLength(3);
  });

  it('a firing beyond what one timer holds (~24.8 days) still comes, once', () => {
    vi.useFakeTimers({ now: new Date('2026-11-25T00:00:00Z') });
    const fired: string[] = [];
    const run = runSchedule(parseSchedule('cron(0 0 1 3 ? *)'), (at) => fired.push(at.toISOString()));
    expect(run.first?.toISOString()).toBe('2027-03-01T00:00:00.000Z');
    vi.advanceTimersByTime(95 * 86_400_000); // 2027-02-28
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1 * 86_400_000);
    expect(fired).toEqual(['2027-03-01T00:00:00.000Z']);
    run.stop();
  });

  it('an expression that never fires again arms nothing', () => {
    vi.useFakeTimers({ now: new Date('2026-11-25T00:00:00Z') });
    const run = runSchedule(parseSchedule('cron(0 0 1 1 ? 2020)'), () => {
      throw new Error('fired');
    });
    expect(run.first).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });
});
