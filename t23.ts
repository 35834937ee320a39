import { startHarness, runCliOk } from "./test/support/harness.ts";
const h = await startHarness();
await runCliOk(h.home, ["domain", "add", "zeta.example"]);
console.log(h.home);
await Bun.write("/tmp/t23.home", h.home);
await Bun.sleep(60000);
await h.stop();
