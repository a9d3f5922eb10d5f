import { describe, expect, it } from 'vitest';
import { summarize, wordChunks } from './summarize.js';

describe('summarize (extractive)', () => {
  const thread = [
    { author: 'Ann', text: 'The release moves to Friday. QA found a crash in the upload path.' },
    { author: 'Bob', text: 'lol' },
    { author: 'Cy', text: 'The upload crash happens with files over 2 GB. I have a fix for the upload path.' },
    { author: 'Ann', text: 'Great, ship the upload fix before the Friday release.' },
    { author: 'Bob', text: 'Lunch anyone?' },
    { author: 'Ann', text: '/summarize 10' },
  ];

  it('keeps the sentences about what the thread is about, in order, with their authors, and leaves out commands', () => {
    const summary = summarize(thread, 3);
    const lines = summary.split('\n');
    expect(lines[0]).toMatch(/^Summary of 6 messages \(topics: upload, /);
    expect(lines).toHaveLength(4);
    expect(lines.slice(1).every((l) => /upload/i.test(l))).toBe(true);
    expect(summary).not.toMatch(/Lunch|lol|\/summarize/);
    // Conversation order.
    expect(lines.slice(1).map((l) => l.split(':')[0])).toEqual(['- Ann', '- Cy', '- Ann']);
  });

  it('says so when there is nothing to summarize', () => {
    expect(summarize([])).toBe('Nothing to summarize yet.');
    expect(summarize([{ author: 'A', text: '/summarize' }])).toBe('Nothing to summarize yet.');
  });

  it('streams text in word pieces that add up to it', () => {
    const text = 'Hello  world,\nthis is it.';
    expect([...wordChunks(text)].join('')).toBe(text);
    expect([...wordChunks(text)]).toHaveLength(5);
  });
});
