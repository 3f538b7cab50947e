/**
 * `tollgateMetric` names a series by every dimension it is emitted with
 * (`MetricDimensions` in common/metrics.ts): CloudWatch matches all of them, so an alarm or
 * widget built with one left out, or one added, would watch a series that never has data.
 */
import { describe, expect, it } from 'vitest';
import { MetricDimension } from '../../common/metrics';
import { tollgateMetric } from '../../lib/observability';

const emitters = { authorizer: { serviceName: 'prod-authorizer' }, rotation: { serviceName: 'prod-rotation' }, metering: { serviceName: 'prod-metering' } };

describe('tollgateMetric', () => {
  it('builds a metric with service plus exactly the declared dimensions', () => {
    const metric = tollgateMetric(emitters, 'decision', 'Sum', { dimensions: { [MetricDimension.outcome]: 'allow' } });
    expect(metric.dimensions).toEqual({ [MetricDimension.service]: 'prod-authorizer', [MetricDimension.outcome]: 'allow' });
    expect(tollgateMetric(emitters, 'rotationFailed', 'Sum').dimensions).toEqual({ [MetricDimension.service]: 'prod-rotation' });
  });

  it('refuses a metric missing one of its dimensions', () => {
    expect(() => tollgateMetric(emitters, 'decision', 'Sum')).toThrow('tollgateMetric: AuthorizerDecision is emitted with outcome besides service, not none');
    expect(() => tollgateMetric(emitters, 'deniedRequests', 'Sum')).toThrow(/emitted with reason besides service/);
  });

  it('refuses a metric with a dimension it is not emitted with', () => {
    expect(() => tollgateMetric(emitters, 'rotationFailed', 'Sum', { dimensions: { [MetricDimension.outcome]: 'allow' } })).toThrow(
      /is emitted with no dimension besides service, not outcome/,
    );
    expect(() => tollgateMetric(emitters, 'decision', 'Sum', { dimensions: { [MetricDimension.reason]: 'x' } })).toThrow(/not reason/);
  });
});
