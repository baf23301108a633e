package bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.state.Stores;

/**
 * P2 of issue 7 in Kafka Streams: windowed count + sum of tokens per agent, 1-minute tumbling
 * windows with 30 s grace, emit on update with the record cache at its default size, in-memory
 * window store, exactly_once_v2, one stream thread.
 *
 * Prints `first_to_nth_ms=<n>` and, as the last stdout line, `events_per_s=<n>` (N records over
 * the wall-clock time from the first record processed to the N-th). Before it prints, it waits
 * until the group's committed offsets cover N records (so the N-th record's transaction is
 * committed), then closes the instance.
 *
 * Arguments (or environment):
 *   --bootstrap   (KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092)
 *   --input       (P2_INPUT_TOPIC, required)
 *   --output      (P2_OUTPUT_TOPIC, required; created with the input's partition count if missing)
 *   --app-id      (P2_APP_ID, default bench-jvm-p2-<epoch ms>)
 *   --count       (P2_COUNT, default 1000000)
 *   --state-dir   (P2_STATE_DIR, default a new temp dir, deleted at the end)
 *   --keep-internal (P2_KEEP_INTERNAL, default false: the changelog topic and the consumer
 *                  group of this run's application id are deleted at the end)
 *   --describe    (P2_DESCRIBE, default false: print the topology to stderr)
 *   --timeout-s   (P2_TIMEOUT_S, default 600: give up when the N-th record has not come by then)
 */
public final class P2 {
  static final long WINDOW_MS = 60_000L;
  static final long GRACE_MS = 30_000L;
  static final String STORE = "p2-window-store";

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    String bootstrap = Args.bootstrap(a);
    String input = a.require("input", "P2_INPUT_TOPIC");
    String output = a.require("output", "P2_OUTPUT_TOPIC");
    String appId = a.get("app-id", "P2_APP_ID", "bench-jvm-p2-" + System.currentTimeMillis());
    long n = Long.parseLong(a.get("count", "P2_COUNT", "1000000"));
    String stateDirArg = a.get("state-dir", "P2_STATE_DIR", null);
    boolean keepInternal = Boolean.parseBoolean(a.get("keep-internal", "P2_KEEP_INTERNAL", "false"));
    long timeoutS = Long.parseLong(a.get("timeout-s", "P2_TIMEOUT_S", "600"));
    Path stateDir = stateDirArg != null ? Path.of(stateDirArg) : Files.createTempDirectory("p2-jvm-state-");
    boolean tempState = stateDirArg == null;

    Properties adminProps = new Properties();
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    int exit = 0;
    try (Admin admin = Admin.create(adminProps)) {
      int partitions = ensureOutput(admin, input, output);
      System.err.printf("p2: app.id=%s input=%s output=%s (%d partitions) N=%d state.dir=%s java=%s%n",
          appId, input, output, partitions, n, stateDir, System.getProperty("java.version"));

      AtomicLong processed = new AtomicLong();
      AtomicLong firstNs = new AtomicLong();
      AtomicLong nthNs = new AtomicLong();
      Object nthReached = new Object();

      StreamsBuilder builder = new StreamsBuilder();
      builder
          .stream(input, Consumed.with(Serdes.String(), TokenUsage.serde()))
          .groupByKey(Grouped.with(Serdes.String(), TokenUsage.serde()))
          .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(WINDOW_MS), Duration.ofMillis(GRACE_MS)))
          .aggregate(
              () -> new byte[16],
              (key, v, agg) -> {
                long c = processed.incrementAndGet();
                if (c == 1) firstNs.set(System.nanoTime());
                if (c == n) {
                  nthNs.set(System.nanoTime());
                  synchronized (nthReached) {
                    nthReached.notifyAll();
                  }
                }
                byte[] out = new byte[16];
                putLong(out, 0, getLong(agg, 0) + 1);
                putLong(out, 8, getLong(agg, 8) + v.tokens);
                return out;
              },
              Materialized.<String, byte[]>as(
                      Stores.inMemoryWindowStore(
                          STORE,
                          Duration.ofMillis(WINDOW_MS + GRACE_MS),
                          Duration.ofMillis(WINDOW_MS),
                          false))
                  .withKeySerde(Serdes.String())
                  .withValueSerde(Serdes.ByteArray())
                  .withCachingEnabled())
          .toStream()
          .to(output, Produced.with(WindowedSerdes.timeWindowedSerdeFrom(String.class, WINDOW_MS), Serdes.ByteArray()));

      Properties p = new Properties();
      p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
      p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
      p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100); // the EOS default, stated
      p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
      p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
      p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
      // statestore.cache.max.bytes: left at its default (10 MiB).

      AtomicReference<Throwable> failure = new AtomicReference<>();
      var topology = builder.build();
      if (Boolean.parseBoolean(a.get("describe", "P2_DESCRIBE", "false"))) System.err.println(topology.describe());
      KafkaStreams streams = new KafkaStreams(topology, p);
      streams.setUncaughtExceptionHandler(e -> {
        failure.compareAndSet(null, e);
        synchronized (nthReached) {
          nthReached.notifyAll();
        }
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      long startNs = System.nanoTime();
      streams.start();
      try {
        long deadline = startNs + TimeUnit.SECONDS.toNanos(timeoutS);
        synchronized (nthReached) {
          while (processed.get() < n && failure.get() == null) {
            long left = deadline - System.nanoTime();
            if (left <= 0) break;
            nthReached.wait(Math.min(1000, Math.max(1, left / 1_000_000)));
          }
        }
        if (failure.get() != null) throw new RuntimeException("stream thread failed", failure.get());
        if (processed.get() < n) {
          throw new RuntimeException("timed out after " + timeoutS + " s with " + processed.get() + " of " + n
              + " records processed (does the input hold N records?)");
        }
        long firstToNthMs = TimeUnit.NANOSECONDS.toMillis(nthNs.get() - firstNs.get());
        long commitWaitMs = waitCommitted(admin, appId, input, n, 60_000);
        double secs = (nthNs.get() - firstNs.get()) / 1e9;
        long eps = Math.round(n / secs);
        close(streams);
        System.out.println("startup_to_first_ms=" + TimeUnit.NANOSECONDS.toMillis(firstNs.get() - startNs));
        System.out.println("nth_to_committed_ms=" + commitWaitMs);
        System.out.println("first_to_nth_ms=" + firstToNthMs);
        System.out.println("events_per_s=" + eps);
      } catch (Exception e) {
        System.err.println("p2: FAILED: " + e);
        if (e.getCause() != null) e.getCause().printStackTrace();
        close(streams);
        exit = 1;
      } finally {
        streams.cleanUp();
        if (!keepInternal) deleteInternal(admin, appId);
      }
    } finally {
      if (tempState) deleteTree(stateDir);
    }
    System.out.flush();
    System.exit(exit);
  }

  /** Closes within 30 s and leaves the group (Kafka Streams stays in it by default), so the group can be deleted. */
  static void close(KafkaStreams streams) {
    streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
        .withTimeout(Duration.ofSeconds(30)));
  }

  /** Creates the output topic (input's partition count) unless it exists; returns the input's partition count. */
  static int ensureOutput(Admin admin, String input, String output) throws Exception {
    TopicDescription d = admin.describeTopics(List.of(input)).allTopicNames().get(30, TimeUnit.SECONDS).get(input);
    int partitions = d.partitions().size();
    Set<String> names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
    if (!names.contains(output)) {
      NewTopic t = new NewTopic(output, partitions, (short) 1).configs(Map.of("retention.ms", "-1"));
      try {
        admin.createTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        if (!(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException)) throw e;
      }
    }
    return partitions;
  }

  /**
   * Waits until the group's committed offsets on the input cover at least n records (counted from
   * each partition's earliest offset), i.e. the transaction that holds the N-th record is committed.
   */
  static long waitCommitted(Admin admin, String group, String input, long n, long timeoutMs) throws Exception {
    long t0 = System.nanoTime();
    TopicDescription d = admin.describeTopics(List.of(input)).allTopicNames().get(30, TimeUnit.SECONDS).get(input);
    Map<TopicPartition, OffsetSpec> req = new HashMap<>();
    d.partitions().forEach(pi -> req.put(new TopicPartition(input, pi.partition()), OffsetSpec.earliest()));
    long earliest = 0;
    for (var e : admin.listOffsets(req).all().get(30, TimeUnit.SECONDS).values()) earliest += e.offset();
    while (true) {
      Map<TopicPartition, OffsetAndMetadata> committed =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
      long sum = 0;
      for (var e : committed.entrySet()) {
        if (e.getKey().topic().equals(input) && e.getValue() != null) sum += e.getValue().offset();
      }
      if (sum - earliest >= n) return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      if (TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) > timeoutMs) {
        throw new RuntimeException("offsets of " + n + " records not committed within " + timeoutMs + " ms (" + (sum - earliest) + ")");
      }
      Thread.sleep(20);
    }
  }

  /** Deletes this run's internal topics (<app.id>-*) and its consumer group; best effort. */
  static void deleteInternal(Admin admin, String appId) {
    try {
      List<String> internal = new ArrayList<>();
      for (String t : admin.listTopics().names().get(30, TimeUnit.SECONDS)) {
        if (t.startsWith(appId + "-")) internal.add(t);
      }
      if (!internal.isEmpty()) admin.deleteTopics(internal).all().get(30, TimeUnit.SECONDS);
      admin.deleteConsumerGroups(List.of(appId)).all().get(30, TimeUnit.SECONDS);
      System.err.println("p2: deleted internal topics " + internal + " and group " + appId);
    } catch (Exception e) {
      System.err.println("p2: could not delete internal topics / group of " + appId + ": " + e);
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      System.err.println("p2: could not delete " + dir + ": " + e);
    }
  }

  static long getLong(byte[] b, int o) {
    long v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | (b[o + i] & 0xffL);
    return v;
  }

  static void putLong(byte[] b, int o, long v) {
    for (int i = 7; i >= 0; i--) {
      b[o + i] = (byte) v;
      v >>>= 8;
    }
  }
}
