/**
 * EventBridge schedule expressions for the local runner: `rate(N unit)` and `cron(min hour day-of-month month
 * day-of-week year)` as EventBridge reads them (UTC; `?` in one of the day fields; L, W and # as AWS defines them,
 * parsed by aws-cron-parser). Pure: an expression in, the next firing time after a given instant out.
 */
import AwsCron from 'aws-cron-parser';

export interface Schedule {
  expression: string;
  /** The next firing strictly after `from`, or null when the expression never fires again (a past year). */
  next(from: Date): Date | null;
}

/** A schedule expression that cannot be run; the message names the expression and what is wrong. */
export class ScheduleExpressionError extends Error {
  constructor(expression: string, what: string) {
    super(`schedule "${expression}": ${what}`);
    this.name = 'ScheduleExpressionError';
  }
}

const RATE = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;
const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** `rate(...)` in milliseconds, or null when the expression is not a rate. */
export function rateMs(expression: string): number | null {
  const m = RATE.exec(expression.trim());
  if (!m) return null;
  const unit = m[2].replace(/s$/, '') as keyof typeof UNIT_MS;
  return Number(m[1]) * UNIT_MS[unit];
}

/** Parse `rate(...)` or `cron(...)`; anything else, or a cron EventBridge would refuse, is a ScheduleExpressionError. */
export function parseSchedule(expression: string): Schedule {
  const text = expression.trim();
  const rate = RATE.exec(text);
  if (rate) {
    const n = Number(rate[1]);
    if (n === 0) throw new ScheduleExpressionError(expression, 'the rate must be at least 1');
    if ((n === 1) === rate[2].endsWith('s')) {
      throw new ScheduleExpressionError(expression, 'use the singular unit for 1 (rate(1 minute)) and the plural otherwise (rate(5 minutes))');
    }
    const every = rateMs(text)!;
    return { expression, next: (from) => new Date(from.getTime() + every) };
  }
  const m = CRON.exec(text);
  if (!m) throw new ScheduleExpressionError(expression, 'not rate(value unit) or cron(minutes hours day-of-month month day-of-week year)');
  const fields = m[1].trim().split(/\s+/);
  if (fields.length !== 6) throw new ScheduleExpressionError(expression, `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`);
  if ((fields[2] === '?') === (fields[4] === '?')) {
    throw new ScheduleExpressionError(expression, 'exactly one of day-of-month (3rd field) and day-of-week (5th field) must be ?');
  }
  let parsed: ReturnType<typeof AwsCron.parse>;
  try {
    parsed = AwsCron.parse(fields.join(' '));
  } catch (err) {
    throw new ScheduleExpressionError(expression, err instanceof Error ? err.message : String(err));
  }
  return {
    expression,
    // aws-cron-parser answers the first firing strictly after the instant it is given.
    next: (from) => AwsCron.next(parsed, from),
  };
}

/** The longest delay setTimeout holds (~24.8 days); a later firing re-arms when it wakes up. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Fire `onFire(at)` at each of the schedule's times from now on, until the returned stop() (timers are unref'd).
 * `first` is the first firing time (null: never).
 */
export function runSchedule(schedule: Schedule, onFire: (at: Date) => void): { first: Date | null; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (from: Date): Date | null => {
    const at = schedule.next(from);
    if (!at || stopped) return null;
    timer = setTimeout(
      () => {
        if (Date.now() >= at.getTime()) onFire(at);
        // Woken early (a capped delay): from just before `at`, so `at` comes round again.
        arm(Date.now() >= at.getTime() ? new Date(Math.max(Date.now(), at.getTime())) : new Date(at.getTime() - 1));
      },
      Math.max(0, Math.min(at.getTime() - Date.now(), MAX_TIMEOUT)),
    );
    timer.unref?.();
    return at;
  };
  const first = arm(new Date());
  return {
    first,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
