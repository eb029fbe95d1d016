/** A host name or IP address, with a port or without (an IPv6 address in brackets, as in a URL). */
export interface HostName {
  /** Lower case, as a URL writes it: `localhost`, `127.0.0.1`, `[::1]`, punycode for other scripts. */
  hostname: string;
  port?: number;
}

/** Letters and digits of any script, `-`, `.`, `_`: no wildcard, nothing a URL would read as more than a name. */
const HOST = /^(\[[0-9a-f:.]+\]|[\p{L}\p{N}._-]+)(?::(\d{1,5}))?$/iu;

/**
 * The parts of `name:port`, `name`, `[v6]:port` or `[v6]` (a Host header, an ALLOWED_HOSTS entry), normalized as a
 * URL parser does; null for anything else (a path, credentials, a bad port).
 */
export function parseHost(text: string): HostName | null {
  const match = HOST.exec(text);
  if (!match) return null;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65_535)) return null;
  let hostname: string;
  try {
    hostname = new URL(`http://${match[1] as string}`).hostname;
  } catch {
    return null;
  }
  return port === undefined ? { hostname } : { hostname, port };
}
