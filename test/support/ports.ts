/** What a TCP connection to 127.0.0.1 finds on a port right now. */
import { connect } from 'node:net';

/**
 * `open`: something accepted the connection; `refused`: nothing listens (ECONNREFUSED);
 * `unanswered`: any other failure, or no answer within `timeoutMs`.
 */
export function tcpState(port: number, timeoutMs = 1000): Promise<'open' | 'refused' | 'unanswered'> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', timeout: timeoutMs });
    const settle = (state: 'open' | 'refused' | 'unanswered') => {
      socket.destroy();
      resolve(state);
    };
    socket.once('connect', () => settle('open'));
    socket.once('timeout', () => settle('unanswered'));
    socket.once('error', (error: NodeJS.ErrnoException) => settle(error.code === 'ECONNREFUSED' ? 'refused' : 'unanswered'));
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` right now. */
export async function portIsOpen(port: number): Promise<boolean> {
  return (await tcpState(port)) === 'open';
}
