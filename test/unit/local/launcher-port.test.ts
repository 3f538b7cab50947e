/**
 * DynamoDB Local's port, read from the loopback launcher's output as it arrives in chunks:
 * nothing until the launcher's whole line is in, then exactly the port it bound, whatever
 * DynamoDB Local printed before (its own banner names the parser's placeholder port).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { launcherPort } from '../../../local/dynamodb';

const PREAMBLE = 'Initializing DynamoDB Local with the following configuration:\nPort:\t8000\nInMemory:\ttrue\n\n';

describe('launcherPort', () => {
  it('reads the port only once its line is complete, for any cut of the output', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.boolean(), fc.nat(), (port, crlf, cutAt) => {
        const line = `DynamoDB Local listening on 127.0.0.1:${port}${crlf ? '\r\n' : '\n'}`;
        const output = PREAMBLE + line;
        const cut = cutAt % (output.length + 1);
        expect(launcherPort(output.slice(0, cut))).toBe(cut === output.length ? port : undefined);
        expect(launcherPort(`${output}later output\n`)).toBe(port);
      }),
    );
  });

  it("is not fooled by DynamoDB Local's own banner or another address", () => {
    expect(launcherPort(PREAMBLE)).toBeUndefined();
    expect(launcherPort('DynamoDB Local listening on 0.0.0.0:8000\n')).toBeUndefined();
    expect(launcherPort('DynamoDB Local listening on 127.0.0.1 only\n')).toBeUndefined();
  });
});
