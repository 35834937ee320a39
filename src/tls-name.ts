// The TLS server name (SNI) for a host: none for an IP address (SNI may not carry one,
// RFC 6066, and Node refuses to set it); the certificate is then checked against its IP SAN.
import { isIP } from "node:net";

export function tlsServername(host: string): string | undefined {
  return isIP(host.replace(/^\[|\]$/g, "")) ? undefined : host;
}
