import { describe, expect, it } from 'vitest';
import { parseMetricsText } from './metrics-text.js';

describe('parseMetricsText', () => {
  it('reads samples with and without labels, skips comments, and ignores an OpenMetrics exemplar', () => {
    const text = [
      '# HELP chat_x a thing',
      '# TYPE chat_x counter',
      'chat_x_total 3',
      'chat_y{op="message.send",outcome="ok"} 12',
      'chat_h_bucket{le="0.005"} 7 # {traceId="0af7651916cd43dd8448eb211c80319c"} 0.0012 1733370000.123',
      'chat_q{v="a}b"} 1',
      '# EOF',
    ].join('\n');
    expect(parseMetricsText(text)).toEqual([
      { name: 'chat_x_total', labels: {}, value: 3 },
      { name: 'chat_y', labels: { op: 'message.send', outcome: 'ok' }, value: 12 },
      { name: 'chat_h_bucket', labels: { le: '0.005' }, value: 7 },
      { name: 'chat_q', labels: { v: 'a}b' }, value: 1 },
    ]);
  });
});
