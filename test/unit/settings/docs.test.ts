/**
 * docs/deploy.md's settings table matches the descriptors (`common/settings.ts`): one row per
 * setting and no other, each stating the descriptor's default and, for a number, its bounds.
 * A setting added without its row, or a row that drifts from the code, fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTING_DESCRIPTORS, type SettingDescriptor, usageDayRetentionDays, usageHourRetentionDays, usageMinuteRetentionDays } from '../../../common/settings';
import { UsageRetentionDefaults } from '../../../common/usage';
import { SETTING_RULES } from '../../../lib/config';

const DOC = readFileSync(new URL('../../../docs/deploy.md', import.meta.url), 'utf8');

/** The rows of the table under `| setting | default | meaning |`, one per setting name (a shared row is split by ` / `). */
function settingRows(): Map<string, { readonly defaultCell: string; readonly meaning: string }> {
  const lines = DOC.split('\n');
  const start = lines.findIndex((line) => line.startsWith('| setting | default | meaning |'));
  expect(start, 'docs/deploy.md has a settings table').toBeGreaterThan(-1);
  const rows = new Map<string, { defaultCell: string; meaning: string }>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [names, defaults, meaning] = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    const named = names!.split(' / ').map((name) => name.replace(/`/g, ''));
    const defaultCells = named.length > 1 ? defaults!.split(' / ') : [defaults!];
    for (const [i, name] of named.entries()) rows.set(name, { defaultCell: defaultCells[i] ?? '', meaning: meaning! });
  }
  return rows;
}

const rows = settingRows();
const descriptors = SETTING_DESCRIPTORS as readonly SettingDescriptor[];
/** Settings whose effective bounds a rule narrows: the row states the rule instead of the descriptor's raw bounds. */
const narrowedByRule = new Set(SETTING_RULES.flatMap((rule) => rule.settings));

describe('docs/deploy.md, the settings table', () => {
  it('has one row for every setting, and none for a setting that does not exist', () => {
    expect([...rows.keys()].sort()).toEqual(descriptors.map((d) => d.name).sort());
  });

  it.each(descriptors.filter((d) => d.kind !== 'custom' && d.default !== undefined).map((d) => [d.name, d] as const))(
    '%s: states its default',
    (name, setting) => {
      const value = (setting as { default: unknown }).default;
      const cell = rows.get(name)!.defaultCell;
      expect(cell.replace(/`/g, '')).toBe(String(value));
    },
  );

  it.each(
    descriptors
      .filter((d): d is Extract<SettingDescriptor, { kind: 'integer' | 'number' }> => d.kind === 'integer' || d.kind === 'number')
      .filter((d) => !narrowedByRule.has(d.name as never))
      .map((d) => [d.name, d] as const),
  )('%s: states its bounds', (name, setting) => {
    expect(rows.get(name)!.meaning).toContain(`${setting.min}–${setting.max}`);
  });

  it('states the usage retentions, their defaults and bounds', () => {
    const row = rows.get('usageMinuteRetentionDays')!;
    expect(row.defaultCell).toBe(`${UsageRetentionDefaults.minuteDays}`);
    expect(rows.get('usageHourRetentionDays')!.defaultCell).toBe(`${UsageRetentionDefaults.hourDays}`);
    expect(rows.get('usageDayRetentionDays')!.defaultCell).toBe(`${UsageRetentionDefaults.dayDays}`);
    expect(row.meaning).toContain(
      `${usageMinuteRetentionDays.min}–${usageMinuteRetentionDays.max} / ${usageHourRetentionDays.min}–${usageHourRetentionDays.max} / ${usageDayRetentionDays.min}–${usageDayRetentionDays.max}`,
    );
  });
});
