package bench;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * The P2 record, Avro binary without header, coded by hand (no Avro dependency):
 * {"type":"record","name":"TokenUsage","namespace":"bench","fields":[
 *   {"name":"agent_id","type":"string"},{"name":"tokens","type":"long"},
 *   {"name":"occurred_at","type":{"type":"long","logicalType":"timestamp-millis"}}]}
 * string = zigzag varint length + UTF-8 bytes; long = zigzag varint.
 */
public final class TokenUsage {
  public final String agentId;
  public final long tokens;
  public final long occurredAt;

  public TokenUsage(String agentId, long tokens, long occurredAt) {
    this.agentId = agentId;
    this.tokens = tokens;
    this.occurredAt = occurredAt;
  }

  public static TokenUsage decode(byte[] buf) {
    if (buf == null) return null;
    int[] pos = {0};
    long len = readLong(buf, pos);
    if (len < 0 || pos[0] + len > buf.length) throw new IllegalArgumentException("bad string length " + len);
    String agent = new String(buf, pos[0], (int) len, StandardCharsets.UTF_8);
    pos[0] += (int) len;
    long tokens = readLong(buf, pos);
    long occurredAt = readLong(buf, pos);
    return new TokenUsage(agent, tokens, occurredAt);
  }

  public byte[] encode() {
    byte[] s = agentId.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[10 + s.length + 10 + 10];
    int p = writeLong(out, 0, s.length);
    System.arraycopy(s, 0, out, p, s.length);
    p += s.length;
    p = writeLong(out, p, tokens);
    p = writeLong(out, p, occurredAt);
    return java.util.Arrays.copyOf(out, p);
  }

  static long readLong(byte[] buf, int[] pos) {
    int p = pos[0];
    long n = 0;
    int shift = 0;
    long b;
    do {
      if (shift > 63 || p >= buf.length) throw new IllegalArgumentException("bad varint");
      b = buf[p++] & 0xff;
      n |= (b & 0x7f) << shift;
      shift += 7;
    } while ((b & 0x80) != 0);
    pos[0] = p;
    return (n >>> 1) ^ -(n & 1);
  }

  static int writeLong(byte[] out, int p, long v) {
    long n = (v << 1) ^ (v >> 63);
    while ((n & ~0x7FL) != 0) {
      out[p++] = (byte) ((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out[p++] = (byte) n;
    return p;
  }

  public static final Serializer<TokenUsage> SERIALIZER = (topic, v) -> v == null ? null : v.encode();
  public static final Deserializer<TokenUsage> DESERIALIZER = (topic, b) -> decode(b);

  public static Serde<TokenUsage> serde() {
    return Serdes.serdeFrom(SERIALIZER, DESERIALIZER);
  }
}
