/**
 * Preloaded (`node --import`) into a process that must reach no network: every DNS lookup
 * fails with ENOTFOUND, and the host asked for is written to stderr as `lookup <host>`. A
 * test sees which endpoint the code resolved (a bundle's AWS SDK resolving its regional
 * endpoint, say) and nothing is sent anywhere, with or without a network.
 */
import dns from 'node:dns';
dns.lookup = function lookup(hostname, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  process.stderr.write(`lookup ${hostname}\n`);
  const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', errno: -3008, hostname, syscall: 'getaddrinfo' });
  process.nextTick(done, error);
};
