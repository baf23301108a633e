// `agent-party describe`: the topology of PROCESSOR_CONFIG (the settings `run processor` uses), as
// Kafka Streams' describe() text or as a Mermaid diagram; no service is contacted.
import { type Command, Option } from 'commander'
import { loadConfig } from '../../config/config.js'
import { loadProcessorConfig } from '../../processors/config.js'
import { describeTopology } from '../../processors/describe.js'

export function registerDescribeCommand(program: Command): void {
  program
    .command('describe')
    .description(
      'Print the Agent Party topology of PROCESSOR_CONFIG (sub-topologies, sources, processors, stores, ' +
        'sinks and the topic names), as describe() text or as a Mermaid diagram',
    )
    .addOption(
      new Option('--format <format>', 'text or mermaid').choices(['text', 'mermaid']).default('text'),
    )
    .action((options: { format: 'text' | 'mermaid' }) => {
      const topology = describeTopology(loadProcessorConfig(loadConfig().processor.configFile))
      const out = options.format === 'mermaid' ? topology.mermaid : topology.text
      process.stdout.write(out.endsWith('\n') ? out : `${out}\n`)
    })
}
