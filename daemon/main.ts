// Process lifecycle of `automigrate daemon`: start, signals, exit codes.
import { ensureDir } from "../src/store/json-file.ts";
import { homePaths } from "../src/home.ts";
import { setBackstopReporter } from "../src/backstop.ts";
import { errorText } from "../src/errors.ts";
import { startControl } from "./control.ts";
import { Daemon } from "./daemon.ts";
import { createLogger } from "./logger.ts";

export async function runDaemon(home: string): Promise<number> {
  const log = createLogger();
  // an error nothing handled is a bug: logged with its stack and counted; the daemon goes on
  setBackstopReporter((r) => log.error({ msg: "BUG: unhandled error, the daemon goes on", kind: r.kind, error: r.error, stack: r.stack }));
  ensureDir(homePaths(home).accounts);
  const daemon = new Daemon(home, log);
  let control: Awaited<ReturnType<typeof startControl>>;
  try {
    control = await startControl(daemon);
    await daemon.start();
  } catch (e) {
    log.fatal({ msg: "daemon could not start", error: errorText(e) });
    return 1;
  }
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      daemon
        .stop(signal)
        .then(() => {
          control.stop();
          resolve(0);
        })
        .catch((e) => {
          log.error({ msg: "error while stopping", error: errorText(e) });
          control.stop();
          resolve(1);
        });
    };
    daemon.onFatal = () => {
      daemon
        .stop("another daemon took the database slot")
        .finally(() => {
          control.stop();
          resolve(1);
        });
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.on("SIGHUP", () => daemon.background("reloading on SIGHUP", () => daemon.reload("SIGHUP")));
  });
}
