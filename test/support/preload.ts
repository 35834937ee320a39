// Loaded before every test file (bunfig.toml): after the file's own afterAll hooks, whatever
// its tests started and did not stop — a test that failed or timed out before its clean-up —
// is stopped here (lab/servers.ts remembers every server, daemon and tmux session).
import { afterAll } from "bun:test";
import { stopAll } from "../../tui/servers/processes.ts";

afterAll(async () => {
  const left = await stopAll();
  if (left.length) console.error(`automigrate tests: stopped what the file's own clean-up left running: ${left.join("; ")}`);
});
