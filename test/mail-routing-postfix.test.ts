// Nothing stranded on the old server, with real mail flowing: a running Postfix as the new
// server's MX routes through the daemon's socketmap (local delivery into the new Dovecot over
// LMTP, or relay to the old MX), and a second running Postfix is the old MX, delivering into
// the old Dovecot over LMTP. Mail is sent before, during and after a CLI migration and
// during a login-driven one, and some waits deferred in the old MX's queue until after the
// switch. The route switches before the first folder is copied; catch-up passes pick up what
// still reaches the old server. Every message sent ends up exactly once on the new server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accountState, startDaemon, userLogin, waitFor, type DaemonProc } from "./support/daemon.ts";
import { startDovecot, type Dovecot } from "./support/dovecot.ts";
import { runCliOk, spawnCli } from "./support/harness.ts";
import { makeMessage, seed, withClient } from "./support/mail.ts";
import { sendMail, startPostfix, type Postfix } from "./support/postfix.ts";

const ANN = "ann@example.com";
const BOB = "bob@example.com";
const USERS = [ANN, BOB];
let old: Dovecot;
let target: Dovecot;
let oldMx: Postfix;
let newMx: Postfix;
let home: string;
let d: DaemonProc;
/** Every Message-ID sent to each user, in order. */
const sent = new Map<string, string[]>(USERS.map((u) => [u, []]));

let counter = 0;
async function mail(user: string, tag: string): Promise<void> {
  const id = `${tag}-${++counter}.${user.split("@")[0]}@sender.example`;
  await sendMail(newMx, "sender@sender.example", user, `From: sender@sender.example\r\nTo: ${user}\r\nSubject: ${tag} ${counter}\r\nMessage-ID: <${id}>\r\n\r\n${tag} mail ${counter}\r\n`);
  sent.get(user)!.push(id);
}

/** Message-IDs in the user's INBOX on a server, with how often each is there. */
async function idsIn(server: Dovecot, user: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await withClient(server, user, async (c) => {
    await c.mailboxOpen("INBOX", { readOnly: true });
    for await (const m of c.fetch("1:*", { envelope: true })) {
      const id = (m.envelope?.messageId ?? "").replace(/^<|>$/g, "");
      out.set(id, (out.get(id) ?? 0) + 1);
    }
  }).catch(() => {});
  return out;
}

const arrived = async (server: Dovecot, user: string, ids: string[]) => {
  const have = await idsIn(server, user);
  return ids.every((id) => have.has(id));
};

beforeAll(async () => {
  const users = USERS.map((user) => ({ user, password: "user-pw" }));
  [old, target] = await Promise.all([startDovecot({ label: "old", users, lmtp: true }), startDovecot({ label: "new", users, lmtp: true })]);
  // the old server's MX: delivers example.com into the old Dovecot
  oldMx = await startPostfix({ label: "old-mx", relayDomains: ["example.com"], transportLines: [`example.com lmtp:inet:127.0.0.1:${old.lmtpPort}`] });
  home = mkdtempSync(join(tmpdir(), "automigrate-postfix-home-"));
  chmodSync(home, 0o755); // Postfix (user postfix) reaches the routing socket in it
  const sock = join(home, "routing.sock");
  writeFileSync(join(home, "old.pw"), `${old.master.password}\n`, { mode: 0o600 });
  writeFileSync(join(home, "new.pw"), `${target.master.password}\n`, { mode: 0o600 });
  await runCliOk(home, [
    "config",
    "set",
    `target.host=${target.host}`,
    `target.port=${target.port}`,
    "target.tls=none",
    "target.auth.mode=master",
    "target.auth.user=admin",
    `target.auth.passwordFile=${join(home, "new.pw")}`,
    `logins.0.path=${target.logPath}`,
    `routing.socket=${sock}`,
    "routing.socketGroup=postfix",
    `routing.localTransport=lmtp:inet:127.0.0.1:${target.lmtpPort}`,
  ]);
  await runCliOk(home, [
    "domain",
    "add",
    "example.com",
    `migration.old.host=${old.host}`,
    `migration.old.imapPort=${old.port}`,
    "migration.old.imapTls=none",
    "migration.old.auth.mode=master",
    "migration.old.auth.user=admin",
    `migration.old.auth.passwordFile=${join(home, "old.pw")}`,
    "migration.old.auth.method=separator",
    "migration.old.smtpHost=127.0.0.1",
    `migration.old.smtpPort=${oldMx.port}`,
    // short catch-up delays for the test (the default is 15m, 1d, 6d)
    'migration.catchUp=["2s","20s"]',
  ]);
  await runCliOk(home, ["domain", "enable", "example.com"]);
  d = await startDaemon(home);
  await waitFor(async () => Boolean((await d.status()).routing), 10_000, "the routing socket");
  // the new server's MX: routes example.com through the daemon
  newMx = await startPostfix({ label: "new-mx", relayDomains: ["example.com"], transportMaps: `socketmap:unix:${sock}:transport` });
  // a mailbox worth a few seconds of copying
  await seed(old, ANN, [{ path: "Archive" }], Array.from({ length: 1500 }, (_, i) => ({ folder: i % 3 ? "INBOX" : "Archive", raw: makeMessage(i, { bodyBytes: 2000 }) })));
  await seed(old, BOB, [], Array.from({ length: 600 }, (_, i) => ({ folder: "INBOX", raw: makeMessage(i, { bodyBytes: 2000 }) })));
}, 180_000);

afterAll(async () => {
  if (d?.proc.exitCode === null) await d.stop();
  await Promise.all([newMx?.stop(), oldMx?.stop()]);
  await Promise.all([old?.stop(), target?.stop()]);
  if (home) rmSync(home, { recursive: true, force: true });
});

describe("mail routing with a running Postfix, before, during and after the switch", () => {
  test("before: mail for users not yet migrated goes to the old server through the old MX", async () => {
    for (const u of USERS) await mail(u, "before");
    await waitFor(async () => (await arrived(old, ANN, sent.get(ANN)!)) && (await arrived(old, BOB, sent.get(BOB)!)), 30_000, "the mail on the old server");
    expect((await idsIn(target, ANN)).size).toBe(0);
  });

  test("a CLI migration: the route switches before copying; mail during it, after it, and deferred on the old MX all end up exactly once on the new server", async () => {
    // the old MX holds mail it cannot deliver yet: it delivers it days later, after the switch
    oldMx.set("defer_transports = lmtp");
    await mail(ANN, "deferred");
    await mail(ANN, "deferred");
    await waitFor(() => oldMx.queued().length === 2, 20_000, "two messages deferred on the old MX");
    const cli = spawnCli(home, ["migrate", ANN, "--json"]);
    const during = (async () => {
      // mail while the CLI copies: every 100 ms until it ends
      while (cli.exitCode === null) {
        await mail(ANN, "during");
        await Bun.sleep(100);
      }
    })();
    const report = JSON.parse(await new Response(cli.stdout).text());
    await during;
    expect(report).toMatchObject({ status: "done", messages: 1500 + 1 });
    expect(sent.get(ANN)!.filter((id) => id.startsWith("during")).length).toBeGreaterThan(3);
    for (let i = 0; i < 3; i++) await mail(ANN, "after");
    // days later (here: now) the old MX delivers what it held, into the old server
    oldMx.set("defer_transports =");
    oldMx.flush();
    await waitFor(() => oldMx.queued().length === 0, 20_000, "the old MX's queue delivered");
    // the catch-up passes bring it over; everything sent is on the new server, once
    await waitFor(() => arrived(target, ANN, sent.get(ANN)!), 60_000, "every message sent to ann on the new server").catch(async (e) => {
      const have = await idsIn(target, ANN);
      throw new Error(`${(e as Error).message}: missing ${sent.get(ANN)!.filter((id) => !have.has(id)).join(", ")}\n${d.output().slice(-3000)}`);
    });
    const have = await idsIn(target, ANN);
    const twice = [...have].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice).toEqual([]);
    // INBOX: two thirds of the old mailbox plus everything sent
    expect([...have.values()].reduce((a, b) => a + b, 0)).toBe(1000 + sent.get(ANN)!.length);
    expect(d.output()).toContain("catch-up");
  });

  test("a login-driven migration: mail during it ends up exactly once on the new server", async () => {
    await userLogin(target, BOB);
    const done = waitFor(async () => (await accountState(home, BOB))?.lastRun?.status === "done", 60_000, "bob migrated");
    for (let i = 0; i < 10; i++) {
      await mail(BOB, "during-login");
      await Bun.sleep(100);
    }
    await done;
    await waitFor(() => arrived(target, BOB, sent.get(BOB)!), 60_000, "every message sent to bob on the new server");
    const have = await idsIn(target, BOB);
    expect([...have].filter(([, n]) => n > 1)).toEqual([]);
    expect([...have.values()].reduce((a, b) => a + b, 0)).toBe(600 + sent.get(BOB)!.length);
  });

  test("the daemon down: Postfix answers temporarily or defers (nothing bounces); the mail arrives once the daemon answers again", async () => {
    await d.stop();
    const id = `daemon-down-${++counter}.ann@sender.example`;
    const message = `From: sender@sender.example\r\nTo: ${ANN}\r\nSubject: daemon down\r\nMessage-ID: <${id}>\r\n\r\nwhile the daemon was down\r\n`;
    // smtpd asks the route at RCPT: 451 (the sending MTA retries), or, with the answer still
    // in Postfix's cache, it accepts and the delivery is deferred in its queue; never a 5xx
    let retryLater = false;
    try {
      await sendMail(newMx, "sender@sender.example", ANN, message);
    } catch (e) {
      expect((e as Error).message).toMatch(/got 4\d\d /);
      retryLater = true;
    }
    sent.get(ANN)!.push(id);
    if (!retryLater) await waitFor(() => newMx.queued().length === 1, 20_000, "the mail deferred on the new MX");
    expect(readFileSync(newMx.logPath, "utf8")).not.toMatch(/status=bounced|reject: RCPT[^\n]* 5\d\d /);
    d = await startDaemon(home);
    await waitFor(async () => Boolean((await d.status()).routing), 10_000, "the routing socket");
    if (retryLater) await sendMail(newMx, "sender@sender.example", ANN, message);
    await waitFor(
      async () => {
        if (newMx.queued().length) newMx.flush();
        return arrived(target, ANN, [id]);
      },
      // Postfix's resolver reconnects to a socketmap that failed after some seconds (~30 s
      // here); on a real MX the next queue run (minutes) finds it anyway
      90_000,
      "the mail delivered to the new server",
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\nthe new MX's log:\n${readFileSync(newMx.logPath, "utf8").slice(-3000)}`);
    });
    expect((await idsIn(target, ANN)).get(id)).toBe(1);
  });
});
