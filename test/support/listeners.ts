/**
 * What a process tree listens on, read from Linux's /proc (the kernel's own socket tables,
 * so a listener nobody told the test about is found too), and whether a TCP connection to
 * an address gets an answer. Used to prove that local mode answers on loopback only.
 */
import { connect } from 'node:net';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export interface Listener {
  readonly address: string;
  readonly port: number;
  readonly pid: number;
}

/** /proc with per-process socket tables: Linux only. */
export const procNetAvailable = existsSync('/proc/net/tcp') && existsSync('/proc/self/fd');

/** `root` and every process below it (a shell guard and the JVM it started, for instance). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // The command name (2nd field) may contain spaces and parentheses: parse after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed while we looked
    }
  }
  return inodes;
}

/** /proc/net/tcp6 writes an address as four 32-bit words, each in host (little-endian) byte order. */
function hexAddress(hex: string): string {
  const bytes = hex.match(/.{8}/g)!.flatMap((word) =>
    word
      .match(/../g)!
      .reverse()
      .map((b) => parseInt(b, 16)),
  );
  if (bytes.length === 4) return bytes.join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  return groups.join(':');
}

const TCP_LISTEN = '0A';

/** Every TCP socket in LISTEN state owned by one of `pids`. */
export function listeners(pids: readonly number[]): Listener[] {
  const owner = new Map<string, number>();
  for (const pid of pids) for (const inode of socketInodes(pid)) owner.set(inode, pid);
  const found: Listener[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
      const pid = owner.get(fields[9]!);
      if (pid === undefined) continue;
      const [address, port] = fields[1]!.split(':') as [string, string];
      found.push({ address: hexAddress(address), port: parseInt(port, 16), pid });
    }
  }
  return found;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.0.0.0/8 (`::ffff:127.x.y.z`, how Java binds 127.0.0.1 on a dual-stack socket). */
export function isLoopback(address: string): boolean {
  if (/^127\./.test(address)) return true;
  const groups = address.split(':').map((g) => parseInt(g || '0', 16));
  if (groups.length !== 8) return false;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return true;
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff && groups[6]! >> 8 === 127;
}

/** The machine's own addresses that are not loopback (link-local IPv6 left out: it needs a zone). */
export function nonLoopbackAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal && !(entry.family === 'IPv6' && /^fe80:/i.test(entry.address)))
    .map((entry) => entry.address);
}

export type ConnectResult = 'connected' | 'refused' | 'no answer';

/** A plain TCP connect: the machine's own addresses never leave it (the kernel routes them locally). */
export function tcpConnect(host: string, port: number, timeoutMs = 2_000): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: ConnectResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('no answer'), timeoutMs);
    socket.once('connect', () => done('connected'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? 'refused' : 'no answer'));
  });
}
