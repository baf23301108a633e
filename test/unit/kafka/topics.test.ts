import { describe, expect, it } from 'vitest'
import { diffTopic, TopicMismatchError } from '../../../kafka/topics.js'

const spec = { name: 'agent_events', partitions: 8, configs: { 'retention.ms': '604800000' } }

describe('diffTopic', () => {
  it('finds nothing when partitions and the specified configs match, whatever else is set', () => {
    const actual = {
      name: 'agent_events',
      partitions: 8,
      replicationFactor: 1,
      configs: { 'retention.ms': '604800000', 'segment.bytes': '1073741824' },
    }
    expect(diffTopic(spec, actual)).toEqual([])
  })

  it('reports a different partition count and retention', () => {
    const actual = {
      name: 'agent_events',
      partitions: 3,
      replicationFactor: 1,
      configs: { 'retention.ms': '-1' },
    }
    expect(diffTopic(spec, actual)).toEqual([
      { topic: 'agent_events', setting: 'partitions', expected: '8', actual: '3' },
      { topic: 'agent_events', setting: 'retention.ms', expected: '604800000', actual: '-1' },
    ])
  })

  it('reports a config the broker does not return as unset', () => {
    const actual = { name: 'agent_events', partitions: 8, replicationFactor: 1, configs: {} }
    expect(diffTopic(spec, actual)[0]).toMatchObject({ setting: 'retention.ms', actual: '(unset)' })
  })
})

describe('TopicMismatchError', () => {
  it('names each topic, setting and both values, and says why it is not fixed automatically', () => {
    const error = new TopicMismatchError([
      { topic: 'team_events', setting: 'partitions', expected: '8', actual: '4' },
    ])
    expect(error.code).toBe('TOPIC_MISMATCH')
    expect(error.message).toContain('team_events: partitions is 4, expected 8')
    expect(error.message).toMatch(/co-partitioning/)
  })
})
