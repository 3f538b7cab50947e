/**
 * Preloaded (`node --import`) into a process that must reach no host by name: every DNS
 * lookup (`dns.lookup`, which connections use, and `dns.promises.lookup`) fails with
 * ENOTFOUND, and the host asked for is written to stderr as `lookup <host>`. A test sees which
 * endpoint the code resolved (a bundle's AWS SDK resolving its regional endpoint, say), and
 * no request to a named host leaves the machine, with or without a network. A connection to
 * an IP address needs no lookup and is not stopped.
 */
import dns from 'node:dns';

function refused(hostname) {
  process.stderr.write(`lookup ${hostname}\n`);
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, hostname, syscall: 'getaddrinfo' });
}

dns.lookup = function lookup(hostname, options, callback) {
  process.nextTick(typeof options === 'function' ? options : callback, refused(hostname));
};
dns.promises.lookup = async function lookup(hostname) {
  throw refused(hostname);
};
