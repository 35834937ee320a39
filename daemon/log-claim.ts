// One daemon per login log on a host: two daemons (two homes) tailing the same log would
// migrate every login twice, each under its own per-user lock. A daemon claims each log it
// tails by listening on an abstract Unix socket named after the log's real path (Linux: no
// file, no permissions, gone with the process, even after kill -9); a second claimant finds
// the name taken, asks the holder who it is, and refuses that log with the answer. Several
// hosts reading one log over a network file system are not covered by this.
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";

export interface LogClaim {
  release(): Promise<void>;
}

function socketName(logPath: string): string {
  let real = logPath;
  try {
    real = realpathSync(logPath);
  } catch {}
  return `\0automigrate-log-${createHash("sha256").update(real).digest("hex").slice(0, 32)}`;
}

function whoHolds(name: string): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    const c = connect(name);
    c.setTimeout(1000, () => c.destroy());
    c.on("data", (d) => (text += d.toString()));
    c.on("close", () => resolve(text.trim() || "another process"));
    c.on("error", () => resolve("another process"));
  });
}

/** Claims `logPath` for this daemon; throws, naming the holder, when another daemon has it. */
export async function claimLog(logPath: string, home: string): Promise<LogClaim> {
  const name = socketName(logPath);
  const server: Server = createServer((s) => s.end(`automigrate daemon pid ${process.pid}, home ${home}\n`));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(name, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(async (e) => {
    if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
    const holder = await whoHolds(name);
    throw new Error(`${logPath} is already tailed by ${holder}: two daemons on one log would migrate every login twice; stop one, or give each its own log`);
  });
  server.unref();
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
