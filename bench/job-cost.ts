// What one small migration job costs the two servers: 10 users of 3 messages each migrated one
// after another with the built entry (`automigrate migrate`), and the CPU each Dovecot spent
// meanwhile (its master's reaped children: the imap and auth processes). On a small mailbox
// this is mostly logins, which is what the daemon pays per job in a burst of first logins.
// Run: bun bench/job-cost.ts (prints; BENCHMARKS.md "The daemon under a burst of logins").
import type { Dovecot } from "../tui/servers/dovecot.ts";
import { CLI, startHarness } from "./support/harness.ts";
import { loginCount, makeMessage, seed } from "./support/mail.ts";
import { serverCpu } from "./tools.ts";

const USERS = Array.from({ length: 10 }, (_, i) => `u${i}@example.com`);

/** CPU seconds of a Dovecot's master and the children it reaped (its imap and auth processes). */
function serverSeconds(d: Dovecot): number {
  const t = serverCpu(d);
  return t.user + t.sys;
}

const h = await startHarness({ users: USERS });
try {
  for (const u of USERS) await seed(h.old, u, [], [0, 1, 2].map((i) => ({ folder: "INBOX", raw: makeMessage(i) })));
  await Bun.sleep(500);
  const before = [serverSeconds(h.old), serverSeconds(h.target)];
  const loginsBefore = [loginCount(h.old, USERS[0]!), loginCount(h.target, USERS[0]!)];
  let ours = 0;
  for (const u of USERS) {
    const p = Bun.spawn([CLI, "--home", h.home, "migrate", u, "--json"], { stdout: "pipe", stderr: "pipe" });
    if ((await p.exited) !== 0) throw new Error(`automigrate migrate ${u} failed: ${await new Response(p.stderr).text()}`);
    const ru = p.resourceUsage()!;
    ours += (Number(ru.cpuTime.user) + Number(ru.cpuTime.system)) / 1e6;
  }
  await Bun.sleep(1000); // the imap processes end and are reaped
  const ms = (s: number) => `${((s / USERS.length) * 1000).toFixed(0)} ms`;
  console.log(`per job (one folder, 3 messages), CPU: old Dovecot ${ms(serverSeconds(h.old) - before[0]!)}, new Dovecot ${ms(serverSeconds(h.target) - before[1]!)}, automigrate process with its start ${ms(ours)}`);
  console.log(`logins per job: old server ${loginCount(h.old, USERS[0]!) - loginsBefore[0]!}, new server ${loginCount(h.target, USERS[0]!) - loginsBefore[1]!}`);
} finally {
  await h.stop();
}
