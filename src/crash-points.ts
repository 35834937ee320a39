// Fault injection for the crash-safety tests: with AUTOMIGRATE_TEST_CRASH_AT=<point>[:<n>]
// the process SIGKILLs itself the n-th time it reaches <point> — a real kill -9 at an exact
// place (e.g. between APPEND and the state write), which a timer cannot hit reliably.
// Unset (always, in production) this is a no-op.
const spec = process.env.AUTOMIGRATE_TEST_CRASH_AT;
const [point, nth] = spec ? spec.split(":") : [];
let hits = 0;

export const CRASH_POINTS = ["folder-created", "intent-written", "append-mid-batch", "appended", "committed", "notice-appended"] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export function crashPoint(name: CrashPoint): void {
  if (point !== name) return;
  hits++;
  if (hits >= Number(nth ?? 1)) process.kill(process.pid, "SIGKILL");
}

/** Whether the test armed `name`: lets a writer put its gathered bytes on the wire first. */
export function crashPointArmed(name: CrashPoint): boolean {
  return point === name;
}
