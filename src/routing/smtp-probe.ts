// Reaches the old server's SMTP host as coexistence routing will: banner, EHLO, extensions.
// Port 465 is implicit TLS (RFC 8314); any other port is plain, STARTTLS reported if offered.
import { tlsServername } from "../tls-name.ts";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

export interface SmtpProbe {
  banner: string;
  extensions: string[];
  tls: boolean;
}

export async function probeSmtp(host: string, port: number, opts: { tlsVerify: boolean; timeoutMs: number; helo?: string }): Promise<SmtpProbe> {
  const implicit = port === 465;
  const socket: Socket = implicit ? tlsConnect({ host, port, servername: tlsServername(host), rejectUnauthorized: opts.tlsVerify }) : netConnect({ host, port });
  socket.setTimeout(opts.timeoutMs);
  let buf = "";
  let waiter: ((lines: string[]) => void) | null = null;
  let failure: Error | null = null;
  let failWaiter: ((e: Error) => void) | null = null;
  const lines: string[] = [];
  const takeReply = () => {
    // a reply ends with a line "NNN text" (a space after the code, not a dash)
    const end = lines.findIndex((l) => /^\d{3}(?: |$)/.test(l));
    if (end < 0 || !waiter) return;
    const reply = lines.splice(0, end + 1);
    const w = waiter;
    waiter = null;
    w(reply);
  };
  socket.on("data", (d) => {
    buf += d.toString("latin1");
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      lines.push(buf.slice(0, nl).replace(/\r$/, ""));
      buf = buf.slice(nl + 1);
    }
    takeReply();
  });
  const fail = (e: Error) => {
    failure ??= e;
    failWaiter?.(failure);
  };
  socket.on("error", fail);
  socket.on("timeout", () => {
    fail(new Error(`no answer within ${opts.timeoutMs / 1000}s`));
    socket.destroy();
  });
  socket.on("close", () => fail(new Error("the server closed the connection")));
  const reply = () =>
    new Promise<string[]>((resolve, reject) => {
      if (failure) return reject(failure);
      waiter = resolve;
      failWaiter = reject;
      takeReply();
    });
  try {
    const banner = await reply();
    if (!banner[0]?.startsWith("220")) throw new Error(`unexpected banner: ${banner.join(" | ")}`);
    socket.write(`EHLO ${opts.helo ?? "automigrate.invalid"}\r\n`);
    const ehlo = await reply();
    if (!ehlo[0]?.startsWith("250")) throw new Error(`EHLO refused: ${ehlo.join(" | ")}`);
    socket.write("QUIT\r\n");
    return {
      banner: banner.map((l) => l.slice(4)).join(" "),
      extensions: ehlo.slice(1).map((l) => l.slice(4).split(" ")[0]!.toUpperCase()),
      tls: implicit,
    };
  } finally {
    socket.destroy();
  }
}
