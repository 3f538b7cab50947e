/**
 * DynamoDB Local's port, read from the loopback launcher's output as it arrives in chunks:
 * nothing until the launcher's whole line with this start's tag is in, then exactly the port
 * it bound, whatever DynamoDB Local printed before. Its own banner names the parser's
 * placeholder port and the data folder, whose path can hold a line of its own.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { launcherPort } from '../../../local/dynamodb';

const TAG = '0123456789abcdef';
const PREAMBLE = 'Initializing DynamoDB Local with the following configuration:\nPort:\t8000\nInMemory:\ttrue\n\n';

describe('launcherPort', () => {
  it('reads the port only once its line is complete, for any cut of the output', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.boolean(), fc.nat(), (port, crlf, cutAt) => {
        const line = `DynamoDB Local listening on 127.0.0.1:${port} (launch ${TAG})${crlf ? '\r\n' : '\n'}`;
        const output = PREAMBLE + line;
        const cut = cutAt % (output.length + 1);
        expect(launcherPort(output.slice(0, cut), TAG)).toBe(cut === output.length ? port : undefined);
        expect(launcherPort(`${output}later output\n`, TAG)).toBe(port);
      }),
    );
  });

  it("is not fooled by DynamoDB Local's own banner, another address, or a line without this start's tag", () => {
    expect(launcherPort(PREAMBLE, TAG)).toBeUndefined();
    expect(launcherPort(`DynamoDB Local listening on 0.0.0.0:8000 (launch ${TAG})\n`, TAG)).toBeUndefined();
    // A data folder whose path holds a line of its own, printed by DynamoDB Local before the launcher's.
    const spoofed = `DbPath:\t/tmp/x\nDynamoDB Local listening on 127.0.0.1:1 (launch 1111111111111111)\n/data\n`;
    expect(launcherPort(spoofed, TAG)).toBeUndefined();
    expect(launcherPort(`${spoofed}DynamoDB Local listening on 127.0.0.1:41023 (launch ${TAG})\n`, TAG)).toBe(41023);
    expect(launcherPort('DynamoDB Local listening on 127.0.0.1:1\n', TAG)).toBeUndefined();
  });
});
