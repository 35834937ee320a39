// A daemon's queue written before it starts (the console's benchmark and its tests).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { accountFileName } from "../../src/store/account-state.ts";

/**
 * A queue full before the daemon starts, and paused so that it stays full: one queued job
 * per user (written as the daemon's own job files), in the order given.
 */
export function pausedQueue(home: string, users: string[]): void {
  const queue = join(home, "state", "queue");
  mkdirSync(queue, { recursive: true });
  writeFileSync(join(home, "state", "daemon.json"), JSON.stringify({ version: 1, paused: { all: true, domains: [] }, logs: {} }));
  const now = Date.now();
  users.forEach((user, i) => {
    const domain = user.slice(user.lastIndexOf("@") + 1);
    writeFileSync(join(queue, accountFileName(user)), JSON.stringify({ user, domain, oldServer: "127.0.0.1:1", reason: "sweep", priority: 2, state: "queued", attempts: 0, enqueuedAt: now + i }));
  });
}
