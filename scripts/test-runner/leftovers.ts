// Which processes a test file left behind. Each test file runs in a session of its own, with
// its own temporary directory (TMPDIR, TMUX_TMPDIR) and a tag in its environment; a process
// belongs to the file when it is in that session, carries the tag, or runs from or names that
// directory (Dovecot rewrites its environment for its process titles, but its command line
// names its config file there; a daemon started with setsid keeps the tag or the path).
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  sid: number;
  state: string;
  args: string;
  environ: string;
  cwd: string;
}

export interface Owner {
  sid: number;
  tag: string;
  dir: string;
}

/** Whether a process is the file's (pure). Zombies are not: they hold nothing and go when reaped. */
export function belongsTo(p: ProcessInfo, owner: Owner): boolean {
  if (p.state === "Z") return false;
  if (p.sid === owner.sid) return true;
  if (p.environ.split("\0").includes(`AUTOMIGRATE_TEST_TAG=${owner.tag}`)) return true;
  const names = (s: string) => s === owner.dir || s.includes(`${owner.dir}/`);
  return names(p.cwd) || names(p.args);
}

/** /proc/<pid>/stat's fields after the command name (which may hold spaces and parentheses). */
export function parseStat(stat: string): { state: string; ppid: number; sid: number } | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const f = stat.slice(close + 2).split(" ");
  return { state: f[0] ?? "?", ppid: Number(f[1]), sid: Number(f[3]) };
}

function read(path: string): string {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return "";
  }
}

/** Every process this user may look at (others' environments and cwd read as empty). */
export function processes(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const st = parseStat(read(`/proc/${pid}/stat`));
    if (!st) continue;
    let cwd = "";
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {}
    out.push({ pid, ...st, args: read(`/proc/${pid}/cmdline`).split("\0").join(" ").trim(), environ: read(`/proc/${pid}/environ`), cwd });
  }
  return out;
}

/** The file's processes still alive, leaving out this process and its ancestors. */
export function leftBehind(owner: Owner, all: ProcessInfo[] = processes()): ProcessInfo[] {
  const mine = new Set<number>();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  for (let p = byPid.get(process.pid); p && !mine.has(p.pid); p = byPid.get(p.ppid)) mine.add(p.pid);
  return all.filter((p) => !mine.has(p.pid) && belongsTo(p, owner));
}
