package bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Deletes topics (kafka-topics is not installed here): `Topics --bootstrap B delete T1 T2 ...`.
 * Also `Topics list` prints the topic names, `Topics delete-group G...` deletes consumer groups.
 */
public final class Topics {
  public static void main(String[] argv) throws Exception {
    List<String> rest = new ArrayList<>();
    List<String> named = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      if (argv[i].startsWith("--")) {
        named.add(argv[i]);
        if (!argv[i].contains("=") && i + 1 < argv.length) named.add(argv[++i]);
      } else {
        rest.add(argv[i]);
      }
    }
    Args a = new Args(named.toArray(new String[0]));
    if (rest.isEmpty()) throw new IllegalArgumentException("usage: Topics [--bootstrap B] list | delete T... | delete-group G...");
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, Args.bootstrap(a));
    try (Admin admin = Admin.create(ap)) {
      switch (rest.get(0)) {
        case "list" -> admin.listTopics().names().get(30, TimeUnit.SECONDS).stream().sorted().forEach(System.out::println);
        case "delete" -> {
          List<String> topics = rest.subList(1, rest.size());
          if (!topics.isEmpty()) admin.deleteTopics(topics).all().get(60, TimeUnit.SECONDS);
          System.out.println("deleted " + topics);
        }
        case "delete-group" -> {
          List<String> groups = rest.subList(1, rest.size());
          if (!groups.isEmpty()) admin.deleteConsumerGroups(groups).all().get(60, TimeUnit.SECONDS);
          System.out.println("deleted groups " + groups);
        }
        default -> throw new IllegalArgumentException("unknown command " + rest.get(0));
      }
    }
  }
}
