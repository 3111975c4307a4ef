import { describe, expect, it } from 'vitest';
import { Flights } from '../../../lib/connections/flights';

/** A piece of work the test finishes by hand, counting how often it was started. */
function manual() {
  let starts = 0;
  const finishers: Array<(value: string) => void> = [];
  const work = () => {
    starts++;
    return new Promise<string>((resolve) => finishers.push(resolve));
  };
  return { work, starts: () => starts, finish: (value: string) => finishers.shift()!(value) };
}

describe('Flights', () => {
  it('gives concurrent ordinary callers one flight', async () => {
    const flights = new Flights<string>();
    const job = manual();
    const a = flights.run('c1', false, job.work);
    const b = flights.run('c1', false, job.work);
    await Promise.resolve();
    job.finish('token-1');
    expect(await Promise.all([a, b])).toEqual(['token-1', 'token-1']);
    expect(job.starts()).toBe(1);
  });

  it('keeps flights of different connections apart', async () => {
    const flights = new Flights<string>();
    const job = manual();
    const a = flights.run('c1', false, job.work);
    const b = flights.run('c2', false, job.work);
    await Promise.resolve();
    job.finish('one');
    job.finish('two');
    expect(await Promise.all([a, b])).toEqual(['one', 'two']);
  });

  it('lets an ordinary caller join a forced flight', async () => {
    const flights = new Flights<string>();
    const job = manual();
    const forced = flights.run('c1', true, job.work);
    const ordinary = flights.run('c1', false, job.work);
    await Promise.resolve();
    job.finish('fresh');
    expect(await Promise.all([forced, ordinary])).toEqual(['fresh', 'fresh']);
    expect(job.starts()).toBe(1);
  });

  it('makes a forced caller wait out an ordinary flight and start its own', async () => {
    const flights = new Flights<string>();
    const job = manual();
    const ordinary = flights.run('c1', false, job.work);
    const forced = flights.run('c1', true, job.work);
    await Promise.resolve();
    job.finish('maybe-rejected');
    expect(await ordinary).toBe('maybe-rejected');
    await new Promise((resolve) => setImmediate(resolve));
    expect(job.starts()).toBe(2);
    job.finish('fresh');
    expect(await forced).toBe('fresh');
  });

  it('starts a new flight once the last one has settled, even if it failed', async () => {
    const flights = new Flights<string>();
    await expect(flights.run('c1', false, () => Promise.reject(new Error('provider down')))).rejects.toThrow('provider down');
    expect(await flights.run('c1', false, async () => 'recovered')).toBe('recovered');
  });
});
