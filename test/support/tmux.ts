// A real terminal for console tests: tmux at 80x24 (or another size), send-keys to type,
// capture-pane to read.
import { spawnSync } from "node:child_process";
import { waitFor } from "./daemon.ts";
import { rememberTmux } from "../../tui/servers/processes.ts";

export interface Term {
  name: string;
  keys(...keys: string[]): void;
  screen(): string;
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<string>;
  kill(): void;
}

export function startTerm(command: string, name = `am${process.pid}${Math.floor(Math.random() * 1e6)}`, size: { cols: number; rows: number } = { cols: 80, rows: 24 }): Term {
  const tmux = (...args: string[]) => spawnSync("tmux", args, { encoding: "utf8" });
  // NCURSES_NO_UTF8_ACS: line drawing as Unicode, readable in capture-pane
  const start = () => tmux("new-session", "-d", "-s", name, "-x", String(size.cols), "-y", String(size.rows), `NCURSES_NO_UTF8_ACS=1 LANG=C.UTF-8 ${command}; sleep 30`);
  // test files in parallel share tmux's default server: when another one kills the last
  // session just as this one connects, the server exits under it; a new one is started
  let r = start();
  for (let i = 0; i < 3 && r.status !== 0 && /server exited unexpectedly/.test(r.stderr); i++) {
    Bun.sleepSync(200);
    r = start();
  }
  if (r.status !== 0) throw new Error(`tmux: ${r.stderr}`);
  const forget = rememberTmux(name);
  const term: Term = {
    name,
    keys: (...keys) => {
      // a lone Escape followed at once by another key reaches the console as one Alt-key
      // sequence on a loaded machine: each Escape is sent on its own, with a pause after it
      let run: string[] = [];
      const flush = () => {
        if (run.length) tmux("send-keys", "-t", name, ...run);
        run = [];
      };
      for (const k of keys) {
        if (k === "Escape") {
          flush();
          tmux("send-keys", "-t", name, k);
          Bun.sleepSync(120);
        } else run.push(k);
      }
      flush();
    },
    screen: () => tmux("capture-pane", "-p", "-t", name).stdout,
    waitFor: async (text, timeoutMs = 10_000) => {
      let last = "";
      await waitFor(() => {
        last = term.screen();
        return typeof text === "string" ? last.includes(text) : text.test(last);
      }, timeoutMs, `${text} on screen`).catch((e) => {
        throw new Error(`${(e as Error).message}\n--- screen ---\n${last}`);
      });
      return last;
    },
    kill: () => void forget(),
  };
  return term;
}
