// The control socket: HTTP over a Unix socket in the home directory, mode 0600.
//   GET  /status                  queue, progress, failed jobs, ignored logins, log positions
//   GET  /accounts/<user>         one account: its job, progress and migration state
//   POST /domains/<domain>        {"set":["key=value",...]}: the domain's settings, as `domain set`
//   POST /migrate   {"user"}      queue a migration now
//   POST /retry     {"user"?}     retry a failed job (or all), end a backoff wait
//   POST /pause     {"domain"?}   pause everything or one domain; /resume likewise
//   POST /sweep                   queue an incremental pass over every known account now
//   POST /cancel {"user"?,"domain"?,"state"?}  take jobs out of the queue (at least one given)
import { chmodSync, existsSync, unlinkSync } from "node:fs";
import { homePaths } from "../src/home.ts";
import { readAccountState } from "../src/store/account-state.ts";
import type { AccountAnswer } from "../src/status/status-view.ts";
import { AutomigrateError, errorText } from "../src/errors.ts";
import { setDomain } from "../src/config/change.ts";
import { parseAssignment } from "../src/config/dotted.ts";
import type { CancelState } from "../src/queue/policy.ts";
import type { Daemon } from "./daemon.ts";

async function socketAnswers(path: string): Promise<boolean> {
  try {
    const r = await fetch("http://automigrate/status", { unix: path, signal: AbortSignal.timeout(1000) } as RequestInit);
    return r.ok;
  } catch {
    return false;
  }
}

export async function startControl(daemon: Daemon): Promise<{ stop(): void; path: string }> {
  const path = homePaths(daemon.home).controlSocket;
  if (existsSync(path)) {
    if (await socketAnswers(path)) throw new Error(`another automigrate daemon is running (it answers on ${path})`);
    unlinkSync(path); // left behind by a daemon that was killed
  }
  const json = (v: unknown, status = 200) => Response.json(v, { status });
  const body = async (req: Request): Promise<Record<string, string | undefined>> => {
    try {
      const v = await req.json();
      return v && typeof v === "object" ? (v as Record<string, string>) : {};
    } catch {
      return {};
    }
  };
  const server = Bun.serve({
    unix: path,
    async fetch(req) {
      const url = new URL(req.url);
      try {
        if (req.method === "GET" && url.pathname === "/status") return json(daemon.snapshot());
        if (req.method === "GET" && url.pathname.startsWith("/accounts/")) {
          const user = decodeURIComponent(url.pathname.slice("/accounts/".length)).toLowerCase();
          const snap = daemon.snapshot();
          const answer: AccountAnswer = {
            user,
            job: snap.jobs.find((j) => j.user === user) ?? null,
            failed: snap.failed.find((j) => j.user === user) ?? null,
            ignored: snap.ignored.filter((i) => i.user === user),
            log: daemon.linesOf(user),
            runs: daemon.recent.filter((r) => r.user === user),
            state: readAccountState(daemon.home, user),
          };
          return json(answer);
        }
        if (req.method === "POST" && url.pathname.startsWith("/domains/")) {
          // a domain's settings, as `domain set` changes them: the same function, the same rules
          const domain = decodeURIComponent(url.pathname.slice("/domains/".length));
          const set = ((await req.json().catch(() => ({}))) as { set?: unknown }).set;
          if (!Array.isArray(set) || !set.length || !set.every((x) => typeof x === "string")) return json({ error: 'set is required: a list of "key=value" strings, e.g. {"set":["migration.enabled=false"]}' }, 400);
          try {
            return json(setDomain(daemon.home, domain, set.map(parseAssignment)));
          } catch (e) {
            // a rules refusal (LDAP sync, an incomplete domain) is a conflict, bad input a 400
            return json({ error: errorText(e) }, e instanceof AutomigrateError && e.exitCode === 1 ? 409 : 400);
          }
        }
        if (req.method === "POST") {
          const b = await body(req);
          switch (url.pathname) {
            case "/migrate":
              if (typeof b.user !== "string" || !b.user) return json({ error: "user is required: a string user@domain" }, 400);
              {
                const result = await daemon.request(b.user, "manual");
                const domain = b.user.slice(b.user.lastIndexOf("@") + 1).toLowerCase();
                const p = daemon.store.paused;
                return json({ result, paused: p.all || p.domains.includes(domain) });
              }
            case "/retry":
              return json({ retried: await daemon.retry(b.user?.toLowerCase()) });
            case "/cancel": {
              const state = b.state;
              if (state !== undefined && !["queued", "waiting", "running", "failed"].includes(state)) return json({ error: `state "${state}" is not one of queued, waiting, running, failed` }, 400);
              if (!b.user && !b.domain && !state) return json({ error: "say what to cancel: user, domain or state" }, 400);
              return json(await daemon.cancel({ user: b.user?.toLowerCase(), domain: b.domain?.toLowerCase(), state: state as CancelState | undefined }));
            }
            case "/sweep":
              return json({ queued: await daemon.sweep(true) });
            case "/pause":
            case "/resume":
              await daemon.setPaused(url.pathname === "/pause", b.domain?.toLowerCase());
              return json({ paused: daemon.store.paused });
          }
        }
        return json({ error: `no such endpoint: ${req.method} ${url.pathname}` }, 404);
      } catch (e) {
        return json({ error: errorText(e) }, 400);
      }
    },
  });
  chmodSync(path, 0o600);
  return {
    path,
    stop: () => {
      server.stop(true);
      try {
        unlinkSync(path);
      } catch {}
    },
  };
}
