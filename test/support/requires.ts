// No silent skips: a test that cannot run its real server (or needs root, namespaces, a
// package that is missing) fails with the reason and the fix. Only an explicit
// AUTOMIGRATE_TEST_SKIP=<feature>[,<feature>...] skips it, and the run's totals count it.
import { describe, test } from "bun:test";

/** What the test files need, by the name AUTOMIGRATE_TEST_SKIP uses. */
export type Feature = "courier" | "cyrus" | "root" | "namespaces" | "package";

export function skippedOnPurpose(feature: Feature): boolean {
  return (process.env.AUTOMIGRATE_TEST_SKIP ?? "")
    .split(/[\s,]+/)
    .filter(Boolean)
    .includes(feature);
}

/**
 * `describe`, when `problem` is undefined; otherwise a block whose one test fails with the
 * problem and the fix, or (AUTOMIGRATE_TEST_SKIP naming the feature) a skipped block.
 */
export function describeNeeding(feature: Feature, problem: string | undefined): (label: string, body: () => void) => void {
  if (skippedOnPurpose(feature)) return (label, body) => describe.skip(label, body);
  if (problem === undefined) return (label, body) => describe(label, body);
  return (label) =>
    describe(label, () => {
      test(`needs ${feature}`, () => {
        throw new Error(`${label}: cannot run here: ${problem}\n  (to skip these tests on purpose: AUTOMIGRATE_TEST_SKIP=${feature} npm test)`);
      });
    });
}

/** The system's chromium for the browser tests (Debian's `chromium`; `ensure-servers.sh` installs it); throws the fix when missing. */
export function requireChromium(): string {
  const found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => Bun.which(p) !== null);
  if (!found) throw new Error("the report's browser test needs Debian's chromium: as root, apt-get install -y chromium fonts-dejavu-core (npm test's scripts/ensure-servers.sh does it)");
  return found;
}
