// A real OpenLDAP server (Debian `slapd`) for tests: its own slapd.conf, an mdb database
// loaded with slapadd, a generated CA and server certificate (ldaps:// and StartTLS), on
// free 127.0.0.1 ports; runs in the foreground so it can be stopped and started again.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../tui/servers/dovecot.ts";
import { spawnServer, stopSpawned } from "../../tui/servers/processes.ts";
import type { ChildProcess } from "node:child_process";
import { waitFor } from "./daemon.ts";

export const BASE = "dc=example,dc=com";
export const PEOPLE = `ou=people,${BASE}`;

export interface Slapd {
  /** ldap://127.0.0.1:<port> (StartTLS offered). */
  url: string;
  /** ldaps://localhost:<port>: the certificate names localhost and 127.0.0.1. */
  ldapsUrl: string;
  caFile: string;
  /** A CA that did not sign the server's certificate. */
  otherCaFile: string;
  bindDn: string;
  bindPasswordFile: string;
  start: () => Promise<void>;
  stop: () => Promise<void>;
  destroy: () => Promise<void>;
}

/** {SSHA}: how directories commonly store passwords. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  return `{SSHA}${Buffer.concat([createHash("sha1").update(password).update(salt).digest(), salt]).toString("base64")}`;
}

function run(argv: string[], cwd: string): void {
  const r = Bun.spawnSync(argv, { cwd, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.toString()}`);
}

/** A CA and a server certificate for localhost / 127.0.0.1, and a second unrelated CA. */
function makeCerts(dir: string): void {
  const sh = (cmd: string) => run(["sh", "-c", cmd], dir);
  sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=automigrate test CA' 2>/dev/null");
  sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.pem -days 2 -subj '/CN=some other CA' 2>/dev/null");
  sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' 2>/dev/null");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  sh("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null");
}

export async function startSlapd(people: { uid: string; mail: string; password: string }[]): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), "automigrate-slapd-"));
  mkdirSync(join(dir, "db"));
  makeCerts(dir);
  const [port, tlsPort] = [await freePort(), await freePort()];
  const conf = join(dir, "slapd.conf");
  writeFileSync(
    conf,
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${dir}/slapd.pid
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server.key
database mdb
suffix "${BASE}"
rootdn "cn=admin,${BASE}"
rootpw ${randomBytes(12).toString("hex")}
directory ${dir}/db
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="cn=automigrate,${BASE}" read by * none
`,
  );
  const readerPw = randomBytes(12).toString("hex");
  const ldif = [
    `dn: ${BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example`,
    `dn: cn=automigrate,${BASE}\nobjectClass: person\ncn: automigrate\nsn: service\nuserPassword: ${ssha(readerPw)}`,
    `dn: ${PEOPLE}\nobjectClass: organizationalUnit\nou: people`,
    ...people.map((p) => `dn: uid=${p.uid},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ${p.uid}\ncn: ${p.uid}\nsn: ${p.uid}\nmail: ${p.mail}\nuserPassword: ${ssha(p.password)}`),
  ].join("\n\n");
  writeFileSync(join(dir, "data.ldif"), ldif + "\n");
  run(["slapadd", "-f", conf, "-l", join(dir, "data.ldif")], dir);
  const bindPasswordFile = join(dir, "reader.pw");
  writeFileSync(bindPasswordFile, readerPw + "\n", { mode: 0o600 });
  let proc: ChildProcess | undefined;
  const s: Slapd = {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://localhost:${tlsPort}`,
    caFile: join(dir, "ca.pem"),
    otherCaFile: join(dir, "other-ca.pem"),
    bindDn: `cn=automigrate,${BASE}`,
    bindPasswordFile,
    start: async () => {
      // -d 0: stay in the foreground (no fork), no debug output
      proc = spawnServer(`slapd ${conf}`, "/usr/sbin/slapd", ["-f", conf, "-h", `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`, "-d", "0"]);
      const p = proc;
      let stderr = "";
      p.stderr?.on("data", (d) => (stderr += d.toString()));
      await waitFor(async () => {
        if (p.exitCode !== null) throw new Error(`slapd exited ${p.exitCode}: ${stderr}`);
        const r = Bun.spawnSync(["ldapsearch", "-x", "-H", s.url, "-D", s.bindDn, "-w", readerPw, "-b", BASE, "-s", "base", "1.1"], { stdout: "ignore", stderr: "ignore" });
        return r.exitCode === 0;
      }, 15_000, "slapd");
    },
    stop: async () => {
      if (proc) await stopSpawned(proc);
      proc = undefined;
    },
    destroy: async () => {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await s.start();
  return s;
}
