// Oracle for test/integration/window-oracle.test.ts: runs windowed counts through Kafka Streams' own
// TopologyTestDriver (kafka-streams-test-utils 4.4.0) and prints every output record.
//
// Input (stdin), many cases per run so one JVM serves the whole test:
//   CASE <tumbling|hopping|sliding|session> <sizeOrGapMs> <advanceMs> <graceMs> <update|final> <retentionMs, 0 = default>
//   (sizeOrGapMs is the window size, a sliding window's time difference, or a session's inactivity gap)
//   R <key> <timestampMs>          (one per input record, in pipe order; keys have no whitespace)
//   END
// Output (stdout), per case:
//   CASE <n>
//   O <inputIndex> <key> <windowStart> <windowEnd> <count|null> <outputTimestamp>
//   END
// Joins (Kafka Streams' join semantics on the same kind of random input):
//   CASE join <ss-inner|ss-left|ss-outer|st-inner|st-left|tt-inner|tt-left|tt-outer> <beforeMs> <afterMs> <graceMs>
//   J <L|R> <key|~> <value|null> <timestampMs>   (~: a null key; L: the left input, R: the right; ss = stream-stream with
//                                              JoinWindows, st = stream-table, tt = table-table)
//   END
// and per case
//   CASE <n>
//   O <inputIndex> <key> <joined value|null> <outputTimestamp>   (joined value: [left,right])
//   END
// A fresh driver per case; caching disabled so every update is emitted; the emit-final check interval
// (an internal, wall-clock config) set to 0 so final results are emitted as soon as stream time closes a window.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.test.TestRecord;

public class WindowOracle {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    PrintWriter out = new PrintWriter(System.out);
    String[] spec = null;
    List<String[]> records = new ArrayList<>();
    int n = 0;
    for (String line; (line = in.readLine()) != null; ) {
      line = line.trim();
      if (line.isEmpty()) continue;
      String[] f = line.split("\\s+");
      switch (f[0]) {
        case "CASE" -> { spec = f; records.clear(); }
        case "R", "J" -> records.add(f);
        case "END" -> { runCase(n++, spec, records, out); out.flush(); }
        default -> throw new IllegalArgumentException("bad line: " + line);
      }
    }
    out.flush();
  }

  static <S extends StateStore> Materialized<String, Long, S> materialized(long retentionMs) {
    Materialized<String, Long, S> m = Materialized.with(Serdes.String(), Serdes.Long());
    return retentionMs > 0 ? m.withRetention(Duration.ofMillis(retentionMs)) : m;
  }

  static Properties props() {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "window-oracle");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.STATE_DIR_CONFIG,
        System.getProperty("java.io.tmpdir") + "/window-oracle-" + ProcessHandle.current().pid());
    // StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_WINDOWED_AGGREGATION: emit-final checks for
    // closed windows at most once per this much wall-clock time (default 1000 ms); 0 = on every record.
    props.put("__emit.interval.ms.kstreams.windowed.aggregation__", 0L);
    // StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_OUTER_JOIN_SPURIOUS_RESULTS_FIX: the same
    // throttle for emitting unmatched left/outer stream-stream join records.
    props.put("__emit.interval.ms.kstreams.outer.join.spurious.results.fix__", 0L);
    return props;
  }

  static void runJoinCase(int n, String[] spec, List<String[]> records, PrintWriter out) {
    String kind = spec[2];
    long before = Long.parseLong(spec[3]);
    long after = Long.parseLong(spec[4]);
    long grace = Long.parseLong(spec[5]);
    StreamsBuilder b = new StreamsBuilder();
    Consumed<String, String> consumed = Consumed.with(Serdes.String(), Serdes.String());
    ValueJoiner<String, String, String> joiner = (l, r) -> "[" + l + "," + r + "]";
    KStream<String, String> result;
    if (kind.startsWith("ss-")) {
      KStream<String, String> left = b.stream("left", consumed);
      KStream<String, String> right = b.stream("right", consumed);
      JoinWindows windows = JoinWindows.ofTimeDifferenceAndGrace(Duration.ofMillis(before), Duration.ofMillis(grace))
          .after(Duration.ofMillis(after));
      StreamJoined<String, String, String> sj = StreamJoined.with(Serdes.String(), Serdes.String(), Serdes.String());
      result = switch (kind) {
        case "ss-inner" -> left.join(right, joiner, windows, sj);
        case "ss-left" -> left.leftJoin(right, joiner, windows, sj);
        default -> left.outerJoin(right, joiner, windows, sj);
      };
    } else if (kind.startsWith("st-")) {
      KStream<String, String> left = b.stream("left", consumed);
      KTable<String, String> right = b.table("right", consumed);
      Joined<String, String, String> j = Joined.with(Serdes.String(), Serdes.String(), Serdes.String());
      result = kind.equals("st-inner") ? left.join(right, joiner, j) : left.leftJoin(right, joiner, j);
    } else {
      KTable<String, String> left = b.table("left", consumed);
      KTable<String, String> right = b.table("right", consumed);
      result = switch (kind) {
        case "tt-inner" -> left.join(right, joiner).toStream();
        case "tt-left" -> left.leftJoin(right, joiner).toStream();
        default -> left.outerJoin(right, joiner).toStream();
      };
    }
    result.to("out", Produced.with(Serdes.String(), Serdes.String()));

    out.println("CASE " + n);
    try (TopologyTestDriver driver = new TopologyTestDriver(b.build(), props(), Instant.ofEpochMilli(0))) {
      TestInputTopic<String, String> left =
          driver.createInputTopic("left", Serdes.String().serializer(), Serdes.String().serializer());
      TestInputTopic<String, String> right =
          driver.createInputTopic("right", Serdes.String().serializer(), Serdes.String().serializer());
      TestOutputTopic<String, String> output =
          driver.createOutputTopic("out", Serdes.String().deserializer(), Serdes.String().deserializer());
      for (int i = 0; i < records.size(); i++) {
        String[] r = records.get(i);
        String key = r[2].equals("~") ? null : r[2];
        String value = r[3].equals("null") ? null : r[3];
        (r[1].equals("L") ? left : right).pipeInput(key, value, Long.parseLong(r[4]));
        for (TestRecord<String, String> o : output.readRecordsToList()) {
          out.println("O " + i + " " + o.key() + " " + (o.value() == null ? "null" : o.value()) + " "
              + o.timestamp());
        }
      }
    }
    out.println("END");
  }

  static void runCase(int n, String[] spec, List<String[]> records, PrintWriter out) {
    if (spec[1].equals("join")) {
      runJoinCase(n, spec, records, out);
      return;
    }
    String kind = spec[1];
    long size = Long.parseLong(spec[2]);
    long advance = Long.parseLong(spec[3]);
    long grace = Long.parseLong(spec[4]);
    boolean fin = spec[5].equals("final");
    long retention = Long.parseLong(spec[6]);
    EmitStrategy emit = fin ? EmitStrategy.onWindowClose() : EmitStrategy.onWindowUpdate();

    StreamsBuilder b = new StreamsBuilder();
    KGroupedStream<String, String> grouped =
        b.stream("in", Consumed.with(Serdes.String(), Serdes.String())).groupByKey();
    KTable<Windowed<String>, Long> counts;
    if (kind.equals("session")) {
      counts = grouped
          .windowedBy(SessionWindows.ofInactivityGapAndGrace(Duration.ofMillis(size), Duration.ofMillis(grace)))
          .emitStrategy(emit)
          .count(materialized(retention));
    } else if (kind.equals("sliding")) {
      counts = grouped
          .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(Duration.ofMillis(size), Duration.ofMillis(grace)))
          .emitStrategy(emit)
          .count(materialized(retention));
    } else {
      counts = grouped
          .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(size), Duration.ofMillis(grace))
              .advanceBy(Duration.ofMillis(advance)))
          .emitStrategy(emit)
          .count(materialized(retention));
    }
    counts.toStream()
        .map((wk, v) -> KeyValue.pair(wk.key() + " " + wk.window().start() + " " + wk.window().end(), v))
        .to("out", Produced.with(Serdes.String(), Serdes.Long()));

    out.println("CASE " + n);
    try (TopologyTestDriver driver = new TopologyTestDriver(b.build(), props(), Instant.ofEpochMilli(0))) {
      TestInputTopic<String, String> input =
          driver.createInputTopic("in", Serdes.String().serializer(), Serdes.String().serializer());
      TestOutputTopic<String, Long> output =
          driver.createOutputTopic("out", Serdes.String().deserializer(), Serdes.Long().deserializer());
      for (int i = 0; i < records.size(); i++) {
        String[] r = records.get(i);
        input.pipeInput(r[1], "v", Long.parseLong(r[2]));
        for (TestRecord<String, Long> o : output.readRecordsToList()) {
          out.println("O " + i + " " + o.key() + " " + (o.value() == null ? "null" : o.value()) + " "
              + o.timestamp());
        }
      }
    }
    out.println("END");
  }
}
