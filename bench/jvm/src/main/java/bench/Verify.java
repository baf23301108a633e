package bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Checks a P2 output topic against its input: reads the input (read_committed) and computes
 * count + sum per (agent, 1-minute window) naively; reads the output (read_committed) and keeps
 * the last value per windowed key (key = UTF-8 agent + 8-byte big-endian window start, value =
 * 8-byte count + 8-byte sum); both must agree window for window. Prints `windows=... ok` or the
 * differences, and exits 0 only when equal.
 *
 * Arguments: --bootstrap, --input, --output, --count (only the first N input records, default all).
 */
public final class Verify {
  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    String bootstrap = Args.bootstrap(a);
    String input = a.require("input", "P2_INPUT_TOPIC");
    String output = a.require("output", "P2_OUTPUT_TOPIC");
    long limit = Long.parseLong(a.get("count", null, String.valueOf(Long.MAX_VALUE)));

    Map<String, long[]> expected = new HashMap<>();
    long[] inputCount = {0};
    readAll(bootstrap, input, r -> {
      if (inputCount[0] >= limit) return;
      inputCount[0]++;
      TokenUsage t = TokenUsage.decode(r.value());
      long start = t.occurredAt - Math.floorMod(t.occurredAt, P2.WINDOW_MS);
      long[] cs = expected.computeIfAbsent(t.agentId + "@" + start, k -> new long[2]);
      cs[0]++;
      cs[1] += t.tokens;
    });

    Map<String, long[]> actual = new HashMap<>();
    long[] outputCount = {0};
    readAll(bootstrap, output, r -> {
      outputCount[0]++;
      byte[] k = r.key();
      String agent = new String(k, 0, k.length - 8, StandardCharsets.UTF_8);
      long start = ByteBuffer.wrap(k, k.length - 8, 8).getLong();
      ByteBuffer v = ByteBuffer.wrap(r.value());
      actual.put(agent + "@" + start, new long[] {v.getLong(0), v.getLong(8)});
    });

    long sumCounts = 0;
    for (long[] cs : actual.values()) sumCounts += cs[0];
    List<String> diffs = new ArrayList<>();
    for (var e : expected.entrySet()) {
      long[] got = actual.get(e.getKey());
      if (got == null || got[0] != e.getValue()[0] || got[1] != e.getValue()[1]) {
        diffs.add(e.getKey() + " expected " + e.getValue()[0] + "/" + e.getValue()[1]
            + " got " + (got == null ? "none" : got[0] + "/" + got[1]));
      }
    }
    for (String k : actual.keySet()) if (!expected.containsKey(k)) diffs.add(k + " unexpected");
    System.out.println("input_records=" + inputCount[0] + " output_records=" + outputCount[0]
        + " windows_expected=" + expected.size() + " windows_output=" + actual.size()
        + " sum_of_last_counts=" + sumCounts + " differences=" + diffs.size());
    diffs.stream().limit(20).forEach(d -> System.out.println("  " + d));
    System.out.println(diffs.isEmpty() ? "verify: ok" : "verify: MISMATCH");
    System.exit(diffs.isEmpty() ? 0 : 1);
  }

  interface Sink {
    void accept(ConsumerRecord<byte[], byte[]> r);
  }

  /** Reads a whole topic from the beginning up to its current end (read_committed). */
  static void readAll(String bootstrap, String topic, Sink sink) throws Exception {
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    Map<TopicPartition, Long> end = new HashMap<>();
    try (Admin admin = Admin.create(ap)) {
      var d = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
      Map<TopicPartition, OffsetSpec> req = new HashMap<>();
      d.partitions().forEach(pi -> req.put(new TopicPartition(topic, pi.partition()), OffsetSpec.latest()));
      // With read_committed, the consumer stops at the last stable offset; "latest" for
      // an admin with read_committed isolation is that offset too.
      var res = admin.listOffsets(req, new org.apache.kafka.clients.admin.ListOffsetsOptions(
          org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all().get(30, TimeUnit.SECONDS);
      res.forEach((tp, info) -> end.put(tp, info.offset()));
    }
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      c.assign(end.keySet());
      c.seekToBeginning(end.keySet());
      long deadline = System.currentTimeMillis() + 120_000;
      while (true) {
        boolean done = true;
        for (var e : end.entrySet()) if (c.position(e.getKey()) < e.getValue()) done = false;
        if (done) break;
        if (System.currentTimeMillis() > deadline) throw new RuntimeException("timed out reading " + topic);
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
          if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) sink.accept(r);
        }
      }
    }
  }
}
