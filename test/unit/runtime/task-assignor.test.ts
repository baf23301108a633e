// The project's assignor: balanced (per sub-topology too), sticky, deterministic, and co-partitioning (partition p of every
// source topic of a sub-topology on one member), where the client's round-robin assignor is not.
import {
  type ClusterMetadata,
  type ExtendedGroupProtocolSubscription,
  type GroupPartitionsAssignments,
  roundRobinAssigner,
} from '@platformatic/kafka'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AssignorMember,
  allTasks,
  assignTasks,
  compareTaskIds,
  coPartitioningAssigner,
  decodeSubscriptionInfo,
  encodeSubscriptionInfo,
  type SubtopologyPartitions,
  taskId,
  taskPartitions,
  tasksOfAssignment,
} from '../../../topology/runtime/task-assignor.js'

/** Unique task ids: per sub-topology 0..k-1, a partition count. */
const tasksArb = fc
  .array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 4 })
  .map((counts) => counts.flatMap((count, sub) => Array.from({ length: count }, (_, p) => taskId(sub, p))))

const memberIdsArb = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { minLength: 1, maxLength: 7 })

function owners(assignment: Map<string, string[]>): Map<string, string> {
  const out = new Map<string, string>()
  for (const [member, tasks] of assignment) for (const t of tasks) out.set(t, member)
  return out
}

function loads(assignment: Map<string, string[]>): number[] {
  return [...assignment.values()].map((l) => l.length)
}

/**
 * A balanced previous generation: each sub-topology's tasks, in a shuffled order, dealt round-robin,
 * the deal going on from one sub-topology to the next, so that every member holds ⌊n/m⌋ or ⌈n/m⌉ of
 * each sub-topology and of all tasks.
 */
function balancedPrevious(
  tasks: readonly string[],
  members: readonly string[],
  order: number[],
): AssignorMember[] {
  const shuffled = tasks
    .map((t, i) => ({ t, sub: Number(t.split('_')[0]), k: order[i % order.length] ?? 0 }))
    .sort((a, b) => a.sub - b.sub || a.k - b.k)
    .map((x) => x.t)
  const previous = members.map((memberId) => ({ memberId, previousTasks: [] as string[] }))
  for (const [i, t] of shuffled.entries()) previous[i % members.length]?.previousTasks.push(t)
  return previous
}

/** How many tasks of each sub-topology every member holds differ by at most one. */
function expectBalancedPerSubtopology(result: Map<string, string[]>, tasks: readonly string[]): void {
  for (const sub of new Set(tasks.map((t) => t.split('_')[0]))) {
    const counts = [...result.values()].map((l) => l.filter((t) => t.split('_')[0] === sub).length)
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
  }
}

describe('assignTasks', () => {
  it('assigns every task exactly once, with loads that differ by at most one, in all and per sub-topology', () => {
    fc.assert(
      fc.property(
        tasksArb,
        memberIdsArb,
        fc.array(fc.array(fc.nat(50), { maxLength: 20 })),
        fc.array(fc.array(fc.nat(50), { maxLength: 20 })),
        (tasks, ids, prevs, warms) => {
          // Arbitrary previous and warm tasks: overlapping, unknown ids, unbalanced.
          const members = ids.map((memberId, i) => ({
            memberId,
            previousTasks: (prevs[i] ?? []).map((n) => tasks[n] ?? taskId(9, n)),
            warmTasks: (warms[i] ?? []).map((n) => tasks[n] ?? taskId(9, n)),
          }))
          const result = assignTasks(tasks, members)
          expect([...result.keys()]).toEqual([...ids].sort())
          const all = [...result.values()].flat()
          expect(all.length).toBe(tasks.length)
          expect(new Set(all)).toEqual(new Set(tasks))
          const l = loads(result)
          expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(1)
          expectBalancedPerSubtopology(result, tasks)
          for (const list of result.values()) expect(list).toEqual([...list].sort(compareTaskIds))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('is deterministic, whatever the order of members, tasks and previous tasks', () => {
    fc.assert(
      fc.property(tasksArb, memberIdsArb, fc.array(fc.nat(50)), fc.nat(), (tasks, ids, prev, seed) => {
        const members = ids.map((memberId, i) => ({
          memberId,
          previousTasks: prev.filter((_, j) => j % ids.length === i).map((n) => tasks[n] ?? taskId(0, n)),
        }))
        const first = assignTasks(tasks, members)
        const rotate = <T>(xs: readonly T[]) => {
          const k = xs.length === 0 ? 0 : seed % xs.length
          return [...xs.slice(k), ...xs.slice(0, k)]
        }
        const second = assignTasks(
          rotate(tasks),
          rotate(members).map((m) => ({ ...m, previousTasks: [...m.previousTasks].reverse() })),
        )
        expect([...second]).toEqual([...first])
        expect([...assignTasks(tasks, members)]).toEqual([...first])
      }),
      { numRuns: 300 },
    )
  })

  it('moves nothing when the previous assignment is balanced and the members are the same', () => {
    fc.assert(
      fc.property(tasksArb, memberIdsArb, fc.array(fc.nat(), { minLength: 1 }), (tasks, ids, order) => {
        const previous = balancedPrevious(tasks, ids, order)
        const result = assignTasks(tasks, previous)
        for (const m of previous)
          expect(result.get(m.memberId)).toEqual([...m.previousTasks].sort(compareTaskIds))
      }),
      { numRuns: 300 },
    )
  })

  // Balance per sub-topology costs a few moves beyond the newcomer's share: which members take the one
  // task more of each sub-topology is chosen greedily, sub-topology after sub-topology.
  it('a member joining a balanced group takes ⌊n/m⌋ or ⌈n/m⌉; other tasks move at most one per sub-topology', () => {
    fc.assert(
      fc.property(
        tasksArb,
        memberIdsArb,
        fc.array(fc.nat(), { minLength: 1 }),
        fc.stringMatching(/^[A-Z0-9_]{1,8}$/).map((s) => `NEW_${s}`), // never an existing (lower-case) id
        (tasks, ids, order, joiner) => {
          const previous = balancedPrevious(tasks, ids, order)
          const before = owners(new Map(previous.map((m) => [m.memberId, [...m.previousTasks]])))
          const result = assignTasks(tasks, [...previous, { memberId: joiner, previousTasks: [] }])
          const l = loads(result)
          expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(1)
          expectBalancedPerSubtopology(result, tasks)
          const after = owners(result)
          const moved = tasks.filter((t) => after.get(t) !== before.get(t))
          const taken = result.get(joiner) ?? []
          for (const t of taken) expect(moved).toContain(t)
          expect(taken.length).toBeGreaterThanOrEqual(Math.floor(tasks.length / (ids.length + 1)))
          expect(taken.length).toBeLessThanOrEqual(Math.ceil(tasks.length / (ids.length + 1)))
          const subtopologies = new Set(tasks.map((t) => t.split('_')[0])).size
          expect(moved.length - taken.length).toBeLessThanOrEqual(Math.max(0, subtopologies - 1))
        },
      ),
      { numRuns: 500 },
    )
  })

  it('members joining a balanced group move at most ⌈n/m⌉ tasks per new member', () => {
    fc.assert(
      fc.property(
        tasksArb,
        memberIdsArb,
        fc.array(fc.nat(), { minLength: 1 }),
        fc.integer({ min: 1, max: 3 }),
        (tasks, ids, order, joining) => {
          const previous = balancedPrevious(tasks, ids, order)
          const before = owners(new Map(previous.map((m) => [m.memberId, [...m.previousTasks]])))
          const joiners = Array.from({ length: joining }, (_, i) => ({
            memberId: `NEW${i}`,
            previousTasks: [],
          }))
          const result = assignTasks(tasks, [...previous, ...joiners])
          const l = loads(result)
          expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(1)
          const after = owners(result)
          const moved = tasks.filter((t) => after.get(t) !== before.get(t))
          const m = ids.length + joining
          expectBalancedPerSubtopology(result, tasks)
          const subtopologies = new Set(tasks.map((t) => t.split('_')[0])).size
          expect(moved.length).toBeLessThanOrEqual(joining * Math.ceil(tasks.length / m) + subtopologies)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('a member leaving: the others split the leaver’s tasks, and move at most one other per sub-topology', () => {
    fc.assert(
      fc.property(tasksArb, memberIdsArb, fc.array(fc.nat(), { minLength: 1 }), (tasks, ids, order) => {
        fc.pre(ids.length >= 2)
        const previous = balancedPrevious(tasks, ids, order)
        const [leaver, ...stay] = previous
        const result = assignTasks(tasks, stay)
        const before = owners(new Map(previous.map((m) => [m.memberId, [...m.previousTasks]])))
        const after = owners(result)
        const moved = tasks.filter((t) => after.get(t) !== before.get(t))
        const subtopologies = new Set(tasks.map((t) => t.split('_')[0])).size
        expect(moved.length - (leaver?.previousTasks.length ?? 0)).toBeLessThanOrEqual(subtopologies)
        const l = loads(result)
        expect(Math.max(...l) - Math.min(...l)).toBeLessThanOrEqual(1)
        expectBalancedPerSubtopology(result, tasks)
      }),
      { numRuns: 300 },
    )
  })

  // Found by the join property above: a member that previously held more than ⌈n/m⌉ tasks took the
  // one-extra capacity more than once, leaving the group unbalanced.
  it('regression: 5 tasks, 3 members, one of them new', () => {
    const result = assignTasks(
      ['0_0', '0_1', '0_2', '0_3', '0_4'],
      [
        { memberId: 'a', previousTasks: ['0_0', '0_1', '0_2'] },
        { memberId: 'b', previousTasks: ['0_3', '0_4'] },
        { memberId: 'c', previousTasks: [] },
      ],
    )
    expect([...result]).toEqual([
      ['a', ['0_0', '0_1']],
      ['b', ['0_3', '0_4']],
      ['c', ['0_2']],
    ])
  })

  it('regression: a member that held every task keeps one of two when two members join', () => {
    const result = assignTasks(
      ['0_0', '0_1'],
      [
        { memberId: '0', previousTasks: ['0_0', '0_1'] },
        { memberId: '-', previousTasks: [] },
        { memberId: '1', previousTasks: [] },
      ],
    )
    expect([...result]).toEqual([
      ['-', ['0_1']],
      ['0', ['0_0']],
      ['1', []],
    ])
  })

  // Found with two instances of P8, and of the alignment test: the first held every task alone, and the
  // second was given the light sub-topology whole while the first kept the heavy one.
  it('regression: a member that held every task of two sub-topologies shares each of them with a newcomer', () => {
    const all = ['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3']
    const result = assignTasks(all, [
      { memberId: 'first', previousTasks: all },
      { memberId: 'second', previousTasks: [] },
    ])
    expect([...result]).toEqual([
      ['first', ['0_0', '0_1', '1_0', '1_1']],
      ['second', ['0_2', '0_3', '1_2', '1_3']],
    ])
  })

  it('gives a member back the tasks it has on disk when it rejoins a member that took them all', () => {
    const all = Array.from({ length: 8 }, (_, p) => taskId(0, p))
    // 'a' ran the even partitions, left (its tasks went to 'b'), and comes back with their checkpoint.
    const result = assignTasks(all, [
      { memberId: 'a', previousTasks: [], warmTasks: ['0_0', '0_2', '0_4', '0_6'] },
      { memberId: 'b', previousTasks: all },
    ])
    expect(result.get('a')).toEqual(['0_0', '0_2', '0_4', '0_6'])
    expect(result.get('b')).toEqual(['0_1', '0_3', '0_5', '0_7'])
    // Without what is on disk, 'b' keeps the first half.
    expect(
      assignTasks(all, [
        { memberId: 'a', previousTasks: [] },
        { memberId: 'b', previousTasks: all },
      ]).get('a'),
    ).toEqual(['0_4', '0_5', '0_6', '0_7'])
  })

  it('never moves a task away from a member that runs it for another that has it on disk', () => {
    const all = Array.from({ length: 4 }, (_, p) => taskId(0, p))
    const result = assignTasks(all, [
      { memberId: 'a', previousTasks: ['0_0', '0_1'] },
      { memberId: 'b', previousTasks: ['0_2', '0_3'], warmTasks: ['0_0', '0_1'] },
    ])
    expect(result.get('a')).toEqual(['0_0', '0_1'])
  })

  it('reads a subscription without warm tasks (an older instance) as none', () => {
    const old = Buffer.from(JSON.stringify({ version: 1, instanceId: 'x', tasks: ['0_1'] }))
    expect(decodeSubscriptionInfo(old)).toEqual({
      version: 1,
      instanceId: 'x',
      tasks: ['0_1'],
      warmTasks: [],
    })
    const now = encodeSubscriptionInfo({ instanceId: 'y', tasks: [], warmTasks: ['0_2'] })
    expect(decodeSubscriptionInfo(now)?.warmTasks).toEqual(['0_2'])
  })

  it('no members: an empty assignment; no tasks: every member empty', () => {
    expect(assignTasks(['0_0'], []).size).toBe(0)
    expect([...assignTasks([], [{ memberId: 'a', previousTasks: ['0_0'] }])]).toEqual([['a', []]])
  })
})

// A fake ClusterMetadata holding only what the assignor reads.
function metadata(counts: Record<string, number>): ClusterMetadata {
  return {
    id: 'cluster',
    brokers: new Map(),
    controllerId: 1,
    lastUpdate: 0,
    topics: new Map(
      Object.entries(counts).map(([topic, partitionsCount]) => [
        topic,
        { id: topic, partitions: [], partitionsCount, lastUpdate: 0 },
      ]),
    ),
  }
}

function subscriptions(
  ids: readonly string[],
  topics: readonly string[],
  previous: Record<string, string[]> = {},
): Map<string, ExtendedGroupProtocolSubscription> {
  return new Map(
    ids.map((memberId) => [
      memberId,
      {
        memberId,
        version: 0,
        topics: [...topics],
        metadata: encodeSubscriptionInfo({ instanceId: memberId, tasks: previous[memberId] ?? [] }),
      },
    ]),
  )
}

/** topic -> partition -> member. */
function placement(assignments: GroupPartitionsAssignments[]): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>()
  for (const { memberId, assignments: byTopic } of assignments) {
    for (const { topic, partitions } of byTopic.values()) {
      const map = out.get(topic) ?? out.set(topic, new Map()).get(topic)
      for (const p of partitions) {
        expect(map?.has(p)).toBe(false)
        map?.set(p, memberId)
      }
    }
  }
  return out
}

describe('coPartitioningAssigner', () => {
  const subs: SubtopologyPartitions[] = [
    { id: 0, topics: ['orders', 'customers'] },
    { id: 1, topics: ['app-repartition'] },
  ]
  const counts = { orders: 4, customers: 4, 'app-repartition': 6 }
  const topics = ['orders', 'customers', 'app-repartition']

  it('puts partition p of every source topic of a sub-topology on one member, where round-robin does not', () => {
    const members = subscriptions(['m1', 'm2', 'm3'], topics)
    // The client's round-robin assignor splits orders-0 and customers-0 over two members.
    const rr = placement(roundRobinAssigner('m1', members, new Set(topics), metadata(counts)))
    const split = [0, 1, 2, 3].filter((p) => rr.get('orders')?.get(p) !== rr.get('customers')?.get(p))
    expect(split.length).toBeGreaterThan(0)

    const ours = placement(coPartitioningAssigner(subs)('m1', members, new Set(topics), metadata(counts)))
    for (let p = 0; p < 4; p++) expect(ours.get('orders')?.get(p)).toBe(ours.get('customers')?.get(p))
    // Every topic-partition is assigned, once.
    expect(ours.get('orders')?.size).toBe(4)
    expect(ours.get('customers')?.size).toBe(4)
    expect(ours.get('app-repartition')?.size).toBe(6)
  })

  it('co-partitions for any number of members and partitions, balanced by tasks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 9 }),
        (a, b, m) => {
          const ids = Array.from({ length: m }, (_, i) => `member-${i}`)
          const c = { orders: a, customers: a, 'app-repartition': b }
          const result = coPartitioningAssigner(subs)(
            'member-0',
            subscriptions(ids, topics),
            new Set(topics),
            metadata(c),
          )
          const placed = placement(result)
          for (let p = 0; p < a; p++)
            expect(placed.get('orders')?.get(p)).toBe(placed.get('customers')?.get(p))
          const taskLoads = result.map((r) => tasksOfAssignment([...r.assignments.values()], subs).length)
          expect(taskLoads.reduce((x, y) => x + y, 0)).toBe(a + b)
          expect(Math.max(...taskLoads) - Math.min(...taskLoads)).toBeLessThanOrEqual(1)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('is sticky through the subscription user data', () => {
    const ids = ['m1', 'm2', 'm3']
    const first = coPartitioningAssigner(subs)(
      'm1',
      subscriptions(ids, topics),
      new Set(topics),
      metadata(counts),
    )
    const previous = Object.fromEntries(
      first.map((r) => [r.memberId, tasksOfAssignment([...r.assignments.values()], subs)]),
    )
    const again = coPartitioningAssigner(subs)(
      'm2',
      subscriptions([...ids].reverse(), topics, previous),
      new Set(topics),
      metadata(counts),
    )
    const after = Object.fromEntries(
      again.map((r) => [r.memberId, tasksOfAssignment([...r.assignments.values()], subs)]),
    )
    expect(after).toEqual(previous)
  })
})

describe('tasks and topic-partitions', () => {
  it('tasksOfAssignment round-trips taskPartitions', () => {
    const subs: SubtopologyPartitions[] = [
      { id: 0, topics: ['a', 'b'] },
      { id: 1, topics: ['c'] },
      { id: 2, topics: ['d', 'e'] },
    ]
    fc.assert(
      fc.property(
        fc.record({
          a: fc.integer({ min: 1, max: 8 }),
          c: fc.integer({ min: 1, max: 8 }),
          d: fc.integer({ min: 1, max: 8 }),
        }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (n, picks) => {
          const count = (t: string) => ({ a: n.a, b: n.a, c: n.c, d: n.d, e: n.d })[t] ?? 0
          const every = allTasks(subs, count)
          expect(every.length).toBe(n.a + n.c + n.d)
          const chosen = [...new Set(picks.map((i) => every[i % every.length] as string))].sort(
            compareTaskIds,
          )
          const partitions = taskPartitions(chosen, subs, count)
          const assignment = [...partitions].map(([topic, ps]) => ({ topic, partitions: ps }))
          expect(tasksOfAssignment(assignment, subs)).toEqual(chosen)
        },
      ),
    )
  })

  it('allTasks takes the largest source of a sub-topology; taskPartitions skips partitions a topic lacks', () => {
    const subs = [{ id: 3, topics: ['x', 'y'] }]
    const count = (t: string) => (t === 'x' ? 2 : 3)
    expect(allTasks(subs, count)).toEqual(['3_0', '3_1', '3_2'])
    expect([...taskPartitions(['3_2'], subs, count)]).toEqual([['y', [2]]])
  })

  it('subscription info round-trips and bad user data decodes to nothing', () => {
    const data = encodeSubscriptionInfo({ instanceId: 'pod-1', tasks: ['0_1', '1_0'] })
    expect(decodeSubscriptionInfo(data)).toEqual({
      version: 1,
      instanceId: 'pod-1',
      tasks: ['0_1', '1_0'],
      warmTasks: [],
    })
    expect(decodeSubscriptionInfo(undefined)).toBeUndefined()
    expect(decodeSubscriptionInfo(Buffer.alloc(0))).toBeUndefined()
    expect(decodeSubscriptionInfo('not json')).toBeUndefined()
    expect(decodeSubscriptionInfo('{"version":2,"tasks":[]}')).toBeUndefined()
  })
})
