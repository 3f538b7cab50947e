import { describe, expect, it } from 'vitest';
import { figure } from '../../../bench/lib/figure';
import { JOBS, parseOnly, related, selectJobs, wantedFigure } from '../../../bench/lib/plan';
import {
  consoleTable,
  formatNumber,
  markdownSection,
  mergeFigures,
  SECTION_END,
  SECTION_START,
  withSection,
  type Results,
  type StoredFigure,
} from '../../../bench/lib/report';

const stored = (id: string, value: number, measuredAt = '2026-01-01T00:00:00.000Z'): StoredFigure => ({
  ...figure({ id, name: `figure ${id}`, unit: 'ms', samples: [value], target: { on: 'value', op: '<=', limit: 5, text: '≤ 5 ms' } }),
  measuredAt,
});

describe('--only', () => {
  it('relates ids to their prefixes in both directions, never to a longer number', () => {
    expect(related('P3.ES256.jose', 'P3')).toBe(true);
    expect(related('P3.ES256', 'P3.ES256.jose')).toBe(true);
    expect(related('P1', 'P10')).toBe(false);
    expect(related('P1.ES256', 'P1.RS256')).toBe(false);
  });

  it('selects only the suites that yield a wanted figure', () => {
    expect(selectJobs(parseOnly('P1.RS256,P4')).map((job) => job.label)).toEqual(['verify RS256', 'local stack']);
    expect(selectJobs(parseOnly('P3')).map((job) => job.label)).toEqual(['verify ES256', 'verify RS256']);
    expect(selectJobs(parseOnly(undefined))).toHaveLength(JOBS.length);
    expect(wantedFigure('S1.ES256', ['P1'])).toBe(false);
  });

  it('names an unknown figure and lists the known ones', () => {
    expect(() => parseOnly('P1,P9')).toThrow(/unknown figure P9; known: P1.ES256, .*P7/);
  });

  it('tells the stack suite which of its parts were asked for', () => {
    const stack = JOBS.find((job) => job.suite === 'stack')!;
    expect(stack.args({ quick: true, dynamoEndpoint: '', only: ['P6.overhead'] })).toMatchObject({ parts: ['P6'] });
    expect(stack.args({ quick: false, dynamoEndpoint: '', only: [] })).toMatchObject({ parts: ['P4', 'P6'], revocations: 60, pollIntervalsMs: [null, 1000] });
  });
});

describe('results', () => {
  it('lets fresh figures replace stored ones by id and keeps the others, in id order', () => {
    const merged = mergeFigures([stored('P7', 1), stored('P2.ES256', 2)], [stored('P2.ES256', 3, 'now'), stored('P10', 4)]);
    expect(merged.map((f) => [f.id, f.value])).toEqual([
      ['P2.ES256', 3],
      ['P7', 1],
      ['P10', 4],
    ]);
  });

  it('formats numbers with the precision they deserve', () => {
    expect(formatNumber(12_345.6)).toBe('12,346');
    expect(formatNumber(123.4)).toBe('123');
    expect(formatNumber(12.34)).toBe('12.3');
    expect(formatNumber(1.234)).toBe('1.23');
    expect(formatNumber(Infinity)).toBe('Infinity');
  });

  const results: Results = {
    machine: { cpuModel: 'CPU', cores: 2, memoryGiB: 4, node: 'v20', platform: 'linux-x64', date: '2026-01-02T03:04:05.000Z', loadAverageAtStart: 1 },
    run: { quick: false, only: [], durationSeconds: 60, loadAverageAtEnd: 2 },
    figures: [stored('P2.ES256', 7)],
    failures: [{ suite: 'heap', error: 'timed out after 300 s\nmore' }],
  };

  it('renders a missed target as NO in the table and the markdown, with failures listed', () => {
    expect(consoleTable(results.figures)).toMatch(/P2\.ES256 +figure P2\.ES256 +7\.00 ms \[7\.00–7\.00\] +– +– +≤ 5 ms +NO/);
    const section = markdownSection(results);
    expect(section).toContain('| P2.ES256 | figure P2.ES256 | 7.00 ms [7.00–7.00] | – | – | ≤ 5 ms | NO |');
    expect(section).toContain('- **heap failed**: timed out after 300 s');
    expect(section.startsWith(SECTION_START) && section.endsWith(SECTION_END)).toBe(true);
  });

  it("names the Node.js its figures were measured on when it is not the runner's, and only then", () => {
    const heading = (...nodes: (string | undefined)[]) =>
      markdownSection({ ...results, figures: nodes.map((node, i) => ({ ...stored(`P${i + 1}`, 1), node })) }).split('\n')[1]!;
    expect(heading('v24.22.3', 'v20', undefined)).toContain(
      "Node v20 (linux-x64); the suites that run function code on Node v24.22.3, the functions' major in AWS;",
    );
    // Rows an --only run of machine suites kept from an earlier run still name their Node.
    expect(heading('v20', 'v24.22.3')).toContain('on Node v24.22.3,');
    expect(heading('v20', undefined)).toContain('Node v20 (linux-x64); 1-min load');
  });

  it('replaces the generated section in place, or appends one to a document without it', () => {
    const document = `# B\n\nprose\n\n${SECTION_START}\nold\n${SECTION_END}\n\nmore prose\n`;
    expect(withSection(document, `${SECTION_START}\nnew\n${SECTION_END}`)).toBe(`# B\n\nprose\n\n${SECTION_START}\nnew\n${SECTION_END}\n\nmore prose\n`);
    expect(withSection('# B\n', 'S')).toBe('# B\n\nS\n');
  });
});
