// What some tests need of the machine: root (system users, dpkg), and namespaces for
// processes that play other hosts. Each answer is why not, with the fix, or undefined.
import { spawnSync } from "node:child_process";

export function rootProblem(why: string): string | undefined {
  return process.getuid?.() === 0 ? undefined : `not root: ${why} (run npm test as root, e.g. in a VM or container)`;
}

/** Whether `unshare <flags> true` works here (UTS, PID namespaces: root, not in a jail that forbids them). */
export function namespacesProblem(flags: string[]): string | undefined {
  const r = spawnSync("unshare", [...flags, "true"], { encoding: "utf8" });
  if (r.status === 0) return undefined;
  return `"unshare ${flags.join(" ")} true" failed: ${(r.stderr || r.error?.message || "").trim()} (these tests play other hosts in their own namespaces: run as root)`;
}
