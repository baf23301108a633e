// What an integration test that runs the whole pipeline under its own prefix leaves behind, removed:
// its topics (every topic named with the prefix), its consumer groups and its Redis keys.
import { Redis } from 'ioredis'
import type { Config } from '../../config/config.js'
import { createAdmin } from '../../kafka/clients.js'
import { deleteTestTopics } from './kafka.js'
import { keysUnder } from './redis.js'

export async function removePipelineRun(
  config: Config,
  run: { readonly prefix: string; readonly groups: readonly string[]; readonly redisPrefix: string },
): Promise<void> {
  const admin = createAdmin(config.kafka, 'test-cleanup')
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(run.prefix))
    await deleteTestTopics(config, mine)
    await admin.deleteGroups({ groups: [...run.groups] }).catch(() => {})
  } finally {
    await admin.close()
  }
  const redis = new Redis(config.redis.url)
  try {
    const keys = await keysUnder(redis, run.redisPrefix)
    if (keys.length > 0) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
}
