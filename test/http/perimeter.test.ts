import { describe, expect, it } from "vitest";
import { isOneOf, serverNames, type HostRule } from "../../src/http/middleware/perimeter.js";

describe("the Host rule of the local server", () => {
  const rule = (overrides: Partial<HostRule> = {}): HostRule => ({ port: 3000, address: "127.0.0.1", allowed: [], ...overrides });
  const names = (overrides: Partial<HostRule> = {}) => serverNames(rule(overrides));

  it("names the loopback names and its address on its port only", () => {
    for (const host of ["localhost:3000", "LocalHost:3000", "127.0.0.1:3000", "[::1]:3000", "[0:0:0:0:0:0:0:1]:3000"]) {
      expect(isOneOf(host, names()), host).toBe(true);
    }
    for (const host of ["localhost:3001", "localhost", "127.0.0.1:80", "0.0.0.0:3000", "[::]:3000", "evil.example:3000", "localhost.:3000"]) {
      expect(isOneOf(host, names()), host).toBe(false);
    }
  });

  it("counts the address it listens on (HOST), IPv6 ones included, on its port", () => {
    expect(isOneOf("0.0.0.0:3000", names({ address: "0.0.0.0" }))).toBe(true);
    expect(isOneOf("[::]:3000", names({ address: "::" }))).toBe(true);
    expect(isOneOf("my-box:3000", names({ address: "My-Box" }))).toBe(true);
    expect(isOneOf("my-box:3001", names({ address: "my-box" }))).toBe(false);
  });

  it("reads a Host without a port as port 80", () => {
    expect(isOneOf("localhost", names({ port: 80 }))).toBe(true);
    expect(isOneOf("localhost:80", names({ port: 80 }))).toBe(true);
  });

  it("counts each allowed name on any port, or on the one it gives", () => {
    const allowed = names({ allowed: [{ hostname: "cache.lan" }, { hostname: "box.local", port: 8443 }] });
    for (const host of ["cache.lan", "cache.lan:3000", "CACHE.lan:1", "box.local:8443"]) expect(isOneOf(host, allowed), host).toBe(true);
    for (const host of ["box.local", "box.local:3000", "sub.cache.lan", "cache.lan.evil.example"]) expect(isOneOf(host, allowed), host).toBe(false);
  });

  it("refuses a Host that is not a host: empty, credentials, a path, a bad port", () => {
    for (const host of ["", " ", "localhost:3000@evil.example", "localhost:3000/x", "localhost:0", "localhost:99999", "localhost:3000:3000"]) {
      expect(isOneOf(host, names()), JSON.stringify(host)).toBe(false);
    }
  });
});
