import { describe, expect, it } from 'vitest';
import { RoomTable } from './room-table.js';

function table() {
  const followed = new Set<string>();
  const log: string[] = [];
  const rooms = new RoomTable({
    opened: (id) => {
      expect(followed.has(id)).toBe(false);
      followed.add(id);
      log.push(`+${id}`);
    },
    closed: (id) => {
      expect(followed.delete(id)).toBe(true);
      log.push(`-${id}`);
    },
  });
  return { rooms, followed, log };
}

describe('RoomTable', () => {
  it('follows a room from its first local member to its last', () => {
    const { rooms, followed, log } = table();
    rooms.track('alice');
    rooms.track('bob');
    rooms.loaded('alice', ['c1', 'c2']);
    rooms.loaded('bob', ['c2', 'c3']);
    expect([...followed].sort()).toEqual(['c1', 'c2', 'c3']);
    expect([...rooms.membersOf('c2')!].sort()).toEqual(['alice', 'bob']);

    rooms.untrack('alice');
    expect([...followed].sort()).toEqual(['c2', 'c3']);
    expect([...rooms.membersOf('c2')!]).toEqual(['bob']);
    expect(rooms.membersOf('c1')).toBeUndefined();
    rooms.leave('bob', 'c2');
    expect([...followed]).toEqual(['c3']);
    rooms.untrack('bob');
    expect(followed.size).toBe(0);
    expect(rooms.size).toBe(0);
    expect(log).toEqual(['+c1', '+c2', '+c3', '-c1', '-c2', '-c3']);
  });

  it('tells a join that opens a room from one that joins a followed room, and ignores users not connected here', () => {
    const { rooms } = table();
    rooms.track('alice');
    rooms.track('bob');
    rooms.loaded('alice', []);
    rooms.loaded('bob', []);
    expect(rooms.join('alice', 'g')).toBe('opened');
    expect(rooms.join('bob', 'g')).toBe('joined');
    expect(rooms.join('bob', 'g')).toBe('none');
    expect(rooms.join('carol', 'g')).toBe('none');
    expect(rooms.isMember('carol', 'g')).toBe(false);
    expect([...rooms.membersOf('g')!].sort()).toEqual(['alice', 'bob']);
  });

  it('merges a load with what happened while it ran: a join counts, a removal wins over a load that still listed the room', () => {
    const { rooms, followed } = table();
    rooms.track('alice');
    // Announced while the load is in flight.
    expect(rooms.join('alice', 'new')).toBe('opened');
    rooms.leave('alice', 'gone');
    rooms.leave('alice', 'back');
    rooms.join('alice', 'back');
    // The load read the store before those changes.
    rooms.loaded('alice', ['kept', 'gone', 'back']);
    expect([...followed].sort()).toEqual(['back', 'kept', 'new']);
    expect(rooms.isMember('alice', 'gone')).toBe(false);

    // Only the first load counts; after it, removals apply directly.
    rooms.loaded('alice', ['gone']);
    expect(rooms.isMember('alice', 'gone')).toBe(false);
    rooms.leave('alice', 'kept');
    expect(followed.has('kept')).toBe(false);
  });

  it('a reload leaves the rooms the store no longer lists, unless joined meanwhile, and keeps removals seen meanwhile', () => {
    const { rooms, followed } = table();
    rooms.track('alice');
    rooms.loaded('alice', ['a', 'b', 'c']);
    expect(rooms.reloading('alice')).toBe(true);
    expect(rooms.reloading('alice')).toBe(false); // one at a time
    expect(rooms.isLoading('alice')).toBe(true);
    rooms.join('alice', 'd'); // announced after the reload read the store
    rooms.leave('alice', 'e');
    rooms.join('alice', 'e');
    rooms.leave('alice', 'e');
    // The store no longer lists b (a removal lost while the bus was down) and lists e (read before its removal).
    rooms.loaded('alice', ['a', 'c', 'e']);
    expect([...followed].sort()).toEqual(['a', 'c', 'd']);
    expect(rooms.isLoading('alice')).toBe(false);
    expect(rooms.reloading('bob')).toBe(false);
  });

  it('drops a load for a user who left while it ran', () => {
    const { rooms, followed } = table();
    rooms.track('alice');
    rooms.untrack('alice');
    rooms.loaded('alice', ['c1']);
    expect(followed.size).toBe(0);
    expect(rooms.isTracked('alice')).toBe(false);
  });
});
