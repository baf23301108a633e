// Computes Kafka's default key placement as the Java client does it (Utils.murmur2, Utils.toPositive,
// modulo the partition count), for the key table of java-partitioning.test.ts. Run once with the
// single-file source launcher:
//   java test/unit/schemas/java/JavaPartitions.java < keys.txt
// Input: one UTF-8 key per line. Output: key, then the partition for 3, 5, 8 and 12 partitions.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

public class JavaPartitions {
    // Copied from org.apache.kafka.common.utils.Utils#murmur2 (Kafka 3.x/4.x).
    static int murmur2(final byte[] data) {
        int length = data.length;
        int seed = 0x9747b28c;
        final int m = 0x5bd1e995;
        final int r = 24;
        int h = seed ^ length;
        int length4 = length / 4;
        for (int i = 0; i < length4; i++) {
            final int i4 = i * 4;
            int k = (data[i4 + 0] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16) + ((data[i4 + 3] & 0xff) << 24);
            k *= m;
            k ^= k >>> r;
            k *= m;
            h *= m;
            h ^= k;
        }
        switch (length % 4) {
            case 3:
                h ^= (data[(length & ~3) + 2] & 0xff) << 16;
            case 2:
                h ^= (data[(length & ~3) + 1] & 0xff) << 8;
            case 1:
                h ^= data[length & ~3] & 0xff;
                h *= m;
        }
        h ^= h >>> 13;
        h *= m;
        h ^= h >>> 15;
        return h;
    }

    static int toPositive(int number) {
        return number & 0x7fffffff;
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String key;
        while ((key = in.readLine()) != null) {
            int hash = toPositive(murmur2(key.getBytes(StandardCharsets.UTF_8)));
            System.out.println(key + "\t" + hash % 3 + "\t" + hash % 5 + "\t" + hash % 8 + "\t" + hash % 12);
        }
    }
}
