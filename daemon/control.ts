// The control socket: HTTP over a Unix socket in the home directory, mode 0600. One handler
// per route, in a table; every request body parsed by its schema (src/status/control-api.ts)
// before anything acts on it; every refusal answered as { code, error } with the status the
// code calls for (400 bad input, 404 unknown route or domain, 409 a rules refusal).
//   GET  /status                  queue, progress, failed jobs, ignored logins, log positions
//   GET  /accounts/<user>         one account: its job, progress and migration state
//   POST /domains/<domain>        {"set":["key=value",...]}: the domain's settings, as `domain set`
//   POST /migrate   {"user"}      queue a migration now
//   POST /retry     {"user"?}     retry a failed job (or all), end a backoff wait
//   POST /pause     {"domain"?}   pause everything or one domain; /resume likewise
//   POST /sweep                   queue an incremental pass over every known account now
//   POST /cancel {"user"?,"domain"?,"state"?}  take jobs out of the queue (at least one given)
//   POST /catch-up  {"user"}      schedule the user's next catch-up pass (after a run elsewhere)
//   POST /account-changed {"user"} read the account's state again (a verify made by the CLI)
import { chmodSync, existsSync, unlinkSync } from "node:fs";
import type { z } from "zod";
import { addressProblem, canonicalUser, shownName } from "../src/address.ts";
import { setDomain } from "../src/config/change.ts";
import { formatIssue, parseAssignment } from "../src/config/dotted.ts";
import { AutomigrateError, classify, errorText } from "../src/errors.ts";
import { homePaths } from "../src/home.ts";
import { accountStatesOf } from "../src/storage/account-states.ts";
import { httpStatus, requestSchemas, type Answers, type ControlError, type PostRoute } from "../src/status/control-api.ts";
import type { AccountAnswer } from "../src/status/status-view.ts";
import type { Daemon } from "./daemon.ts";

async function socketAnswers(path: string): Promise<boolean> {
  try {
    const r = await fetch("http://automigrate/status", { unix: path, signal: AbortSignal.timeout(1000) } as RequestInit);
    return r.ok;
  } catch {
    return false;
  }
}

const refuse = (message: string, code: ControlError["code"] = "INPUT") => new AutomigrateError(message, {}, { exitCode: 2, code });

/** A user named in a request: the one address validator, lower case. */
function userParam(raw: string): string {
  const problem = addressProblem(raw);
  if (problem) throw refuse(`${shownName(raw)} is not a valid user address: it ${problem}`);
  return canonicalUser(raw);
}

/** The request's body, parsed by the route's schema; bad JSON or a wrong shape is a 400 naming the field. */
async function bodyOf<R extends PostRoute>(req: Request, route: R): Promise<z.output<(typeof requestSchemas)[R]>> {
  const text = await req.text();
  let raw: unknown = {};
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch {
      throw refuse("the request body is not JSON");
    }
  }
  const r = requestSchemas[route].safeParse(raw);
  // unknown fields named with the known ones; otherwise the schema's own words (they name the field)
  if (!r.success) throw refuse(r.error.issues.map((i) => (i.code === "unrecognized_keys" ? formatIssue(i) : i.message)).join("; "));
  return r.data as z.output<(typeof requestSchemas)[R]>;
}

/** A path segment, decoded; a malformed escape is a 400, not an internal error. */
function segment(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw refuse(`the URL holds a malformed escape: ${JSON.stringify(encoded.slice(0, 100))}`);
  }
}

type Handler = (req: Request, param: string) => Promise<unknown>;

function routes(daemon: Daemon): { method: "GET" | "POST"; prefix: string; exact: boolean; handle: Handler }[] {
  const post = <R extends PostRoute>(route: R, handle: (body: z.output<(typeof requestSchemas)[R]>, param: string) => Promise<Answers[R]> | Answers[R]) => {
    const exact = !route.includes(":");
    return { method: "POST" as const, prefix: exact ? route : route.slice(0, route.indexOf(":")), exact, handle: async (req: Request, param: string) => handle(await bodyOf(req, route), param) };
  };
  const paused = (domain: string) => daemon.queue.paused().all || daemon.queue.paused().domains.includes(domain);
  return [
    { method: "GET", prefix: "/status", exact: true, handle: async (): Promise<Answers["GET /status"]> => daemon.snapshot() },
    {
      method: "GET",
      prefix: "/accounts/",
      exact: false,
      handle: async (_req, param): Promise<Answers["GET /accounts/:user"]> => {
        const user = userParam(param);
        const snap = daemon.snapshot();
        const answer: AccountAnswer = {
          user,
          job: snap.jobs.find((j) => j.user === user) ?? null,
          failed: snap.failed.find((j) => j.user === user) ?? null,
          ignored: snap.ignored.filter((i) => i.user === user),
          log: daemon.linesOf(user),
          runs: daemon.recent.filter((r) => r.user === user),
          state: await accountStatesOf(daemon.home).read(user),
        };
        return answer;
      },
    },
    post("/domains/:domain", (b, domain) => setDomain(daemon.home, domain, b.set.map(parseAssignment))),
    post("/migrate", async (b) => {
      const user = userParam(b.user);
      return { result: await daemon.request(user, "manual"), paused: paused(user.slice(user.lastIndexOf("@") + 1)) };
    }),
    post("/retry", async (b) => ({ retried: await daemon.retry(b.user === undefined ? undefined : userParam(b.user)) })),
    post("/cancel", async (b) => daemon.cancel({ user: b.user === undefined ? undefined : userParam(b.user), domain: b.domain?.toLowerCase(), state: b.state })),
    post("/sweep", async () => ({ queued: await daemon.sweep(true) })),
    post("/pause", async (b) => {
      await daemon.setPaused(true, b.domain?.toLowerCase());
      return { paused: daemon.queue.paused() };
    }),
    post("/resume", async (b) => {
      await daemon.setPaused(false, b.domain?.toLowerCase());
      return { paused: daemon.queue.paused() };
    }),
    post("/catch-up", async (b) => {
      const user = userParam(b.user);
      // the CLI's run changed the account: its status, for metrics and progress
      await daemon.accountChanged(user);
      return { next: await daemon.scheduleCatchUp(user) };
    }),
    post("/account-changed", async (b) => {
      await daemon.accountChanged(userParam(b.user));
      return { reread: true as const };
    }),
  ];
}

export async function startControl(daemon: Daemon): Promise<{ stop(): void; path: string }> {
  const path = homePaths(daemon.home).controlSocket;
  if (existsSync(path)) {
    if (await socketAnswers(path)) throw new Error(`another automigrate daemon is running (it answers on ${path})`);
    unlinkSync(path); // left behind by a daemon that was killed
  }
  const table = routes(daemon);
  const failure = (e: unknown) => {
    const c = classify(e);
    const body: ControlError = { code: c.code, error: errorText(c) };
    if (c.code === "BUG") daemon.log.error({ msg: "control request failed", error: errorText(c), stack: e instanceof Error ? e.stack : undefined });
    return Response.json(body, { status: httpStatus(c.code) });
  };
  const server = Bun.serve({
    unix: path,
    async fetch(req) {
      try {
        const pathname = new URL(req.url).pathname;
        // the socket is up before the settings, the queue and the database are: nothing is answered from half a daemon
        if (!daemon.ready) throw refuse("the daemon is starting: ask again in a moment", "DAEMON_DOWN");
        const route = table.find((r) => r.method === req.method && (r.exact ? pathname === r.prefix : pathname.startsWith(r.prefix) && pathname.length > r.prefix.length));
        if (!route) throw refuse(`no such endpoint: ${req.method} ${pathname.slice(0, 200)}`, "NOT_FOUND");
        return Response.json(await route.handle(req, route.exact ? "" : segment(pathname.slice(route.prefix.length))));
      } catch (e) {
        return failure(e);
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
