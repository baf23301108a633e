package bench;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes the P2 input: N records (default 1,000,000), key agent-<k> with k uniform in [0, 10000)
 * from java.util.Random(seed 42), value TokenUsage{agent_id = key, tokens uniform in [1, 1000],
 * occurred_at = 2026-01-01T00:00:00Z + i ms}, record timestamp = occurred_at. Creates the topic
 * (8 partitions, retention.ms=-1) when missing. Producer: acks=all, idempotent, linger 5 ms,
 * 256 KiB batches.
 *
 * Arguments (or environment): --bootstrap (KAFKA_BOOTSTRAP_SERVERS), --topic (P2_INPUT_TOPIC),
 * --count (P2_COUNT), --partitions (default 8), --keys (default 10000), --seed (default 42).
 */
public final class Generate {
  public static final long EPOCH_MS = 1767225600000L; // 2026-01-01T00:00:00Z

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    String bootstrap = Args.bootstrap(a);
    String topic = a.require("topic", "P2_INPUT_TOPIC");
    long n = Long.parseLong(a.get("count", "P2_COUNT", "1000000"));
    int partitions = Integer.parseInt(a.get("partitions", null, "8"));
    int keys = Integer.parseInt(a.get("keys", null, "10000"));
    long seed = Long.parseLong(a.get("seed", null, "42"));

    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(ap)) {
      Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      if (names.contains(topic)) {
        System.err.println("generate: topic " + topic + " exists; appending to it");
      } else {
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(Map.of("retention.ms", "-1"))))
            .all().get(30, TimeUnit.SECONDS);
      }
    }

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 64L * 1024 * 1024);
    String[] keyNames = new String[keys];
    for (int k = 0; k < keys; k++) keyNames[k] = "agent-" + k;
    Random rnd = new Random(seed);
    AtomicReference<Exception> failure = new AtomicReference<>();
    long t0 = System.nanoTime();
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      for (long i = 0; i < n && failure.get() == null; i++) {
        String key = keyNames[rnd.nextInt(keys)];
        long tokens = 1 + rnd.nextInt(1000);
        long at = EPOCH_MS + i;
        byte[] value = new TokenUsage(key, tokens, at).encode();
        producer.send(new ProducerRecord<>(topic, null, at, key, value), (md, e) -> {
          if (e != null) failure.compareAndSet(null, e);
        });
      }
      producer.flush();
    }
    if (failure.get() != null) {
      System.err.println("generate: FAILED: " + failure.get());
      System.exit(1);
    }
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    System.out.println("generated=" + n + " topic=" + topic + " ms=" + ms + " records_per_s=" + Math.round(n * 1000.0 / Math.max(1, ms)));
  }
}
